"""Waiting out a database that went away, and saying so clearly.

While PostgreSQL restarts (or SQLite's disk is full, or a network blips) the processor
keeps its batch unacknowledged — the broker holds the messages — and tries again after
a jittered, growing delay. A lost connection is expected and transient: it gets one
warning line, not a traceback per attempt, then a line when the database answers again.
Anything else (a bug, a constraint broken) is logged with its traceback, since someone
must look at it; it is retried all the same, because dropping the batch would lose it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError

from gateway.backoff import Backoff

log = logging.getLogger(__name__)


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` (or what it wraps) says the database is unreachable for now."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OperationalError | DisconnectionError | ConnectionError |
                      TimeoutError):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False


def describe(exc: BaseException) -> str:
    """One line: the driver's own message when there is one, without SQL or parameters."""
    orig = getattr(exc, "orig", None)
    cause = orig if orig is not None else exc
    first = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {first}" if first else type(cause).__name__


class StoreRetry:
    """Backoff and logging for one kind of write (``what``) that must eventually succeed."""

    def __init__(self, what: str, backoff: Backoff | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what = what
        self._backoff = backoff or Backoff(base=0.2, cap=10.0)
        self._clock = clock
        self._since: float | None = None
        self.attempts = 0

    def failed(self, exc: BaseException, pending: int) -> float:
        """Log the failure and return how long to wait before the next attempt."""
        self.attempts += 1
        if self._since is None:
            self._since = self._clock()
        delay = self._backoff.next_delay()
        if is_transient(exc):
            log.warning("%s failed, database unreachable (%s); %d messages kept "
                        "unacknowledged, attempt %d, next in %.1fs", self.what, describe(exc),
                        pending, self.attempts, delay)
        else:
            log.error("%s failed (%s); %d messages kept unacknowledged, attempt %d, next in "
                      "%.1fs", self.what, describe(exc), pending, self.attempts, delay,
                      exc_info=exc)
        return delay

    def succeeded(self) -> None:
        """Reset the backoff; after failures, say that the database answers again."""
        if self._since is not None:
            log.warning("%s works again after %.1fs and %d failed attempts", self.what,
                        self._clock() - self._since, self.attempts)
        self._since = None
        self.attempts = 0
        self._backoff.reset()
