"""Sends what alarms asked for — webhooks and device commands — after they are committed.

The alarm book writes one ``outbox`` row per webhook or command in the transaction
that raises the alarm (the transactional outbox): a webhook is never called for an
alarm that was rolled back, and one whose alarm committed is never forgotten, even
if the process dies right after. This dispatcher polls the due rows and sends them.

Delivery is at least once. A row is *claimed* before it is sent, by a conditional
UPDATE that bumps ``attempts`` and pushes ``next_attempt_at`` past the attempt's
deadline (a lease): two dispatchers never send a row at the same time, and a row
whose dispatcher died comes due again when the lease ends. Webhook receivers get an
``Idempotency-Key`` header so they can drop the rare duplicate.

A failed attempt is retried ``retries`` times with jittered exponential backoff;
the outcome (``sent`` with the HTTP status, or ``failed`` with the last error) stays
on the row for the installer. Rows are sent concurrently and each failure is caught
on its own: a slow or broken receiver never holds the others back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self, cast

import httpx
from sqlalchemy import CursorResult, select, update

from devices.records import Value
from gateway.retry import describe, is_transient
from social.db import Database
from social.models import OutboxEntry

log = logging.getLogger(__name__)

#: Seconds added to an attempt's own deadline before another dispatcher may take the row.
LEASE_MARGIN = 30.0
#: Longest error text kept on a row.
_MAX_ERROR = 500


#: Publishes a device command: ``(device_id, point, canonical value)``; raises on failure.
#: :class:`gateway.commands.CommandSender` is the gateway's.
SendCommand = Callable[[str, str, Value], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed outbox row; ``attempt`` counts this one (1 for the first try)."""

    id: int
    alarm_id: int
    kind: str
    payload: dict[str, Any]
    attempt: int


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    error: str | None = None
    http_status: int | None = None


class OutboxDispatcher:
    """Polls the outbox of ``database`` and sends due rows.

    ``http`` is the client for webhooks; without one the dispatcher makes its own and
    closes it on exit (use it as an async context manager, or call :meth:`aclose`).
    ``clock`` gives epoch seconds and decides what is due, so tests can move time.
    """

    def __init__(
        self,
        database: Database,
        *,
        send_command: SendCommand,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        poll_interval: float = 0.5,
        batch_size: int = 50,
        backoff_base: float = 2.0,
        backoff_cap: float = 600.0,
        command_retries: int = 3,
        command_timeout: float = 10.0,
        rng: random.Random | None = None,
    ) -> None:
        self._database = database
        self._send_command = send_command
        self._http = http
        self._own_http: httpx.AsyncClient | None = None
        self._clock = clock
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._command_retries = command_retries
        self._command_timeout = command_timeout
        self._rng = rng or random.Random()
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self.sent = 0
        self.failed = 0

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Cancel attempts in flight (their rows come due again) and close our own client."""
        tasks = list(self._in_flight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._own_http is not None:
            await self._own_http.aclose()
            self._own_http = None

    # -- the loops ------------------------------------------------------------------------

    async def run(self) -> None:
        """Send due rows every ``poll_interval`` seconds until cancelled.

        Attempts run as tasks of their own, so a webhook waiting for its timeout does not
        delay the next poll.
        """
        while True:
            try:
                jobs = await asyncio.to_thread(self._claim, set(self._in_flight))
            except Exception as exc:
                if is_transient(exc):  # one line per poll while the database is away
                    log.warning("outbox: cannot read due rows, database unreachable (%s); "
                                "trying again", describe(exc))
                else:
                    log.exception("outbox: cannot read due rows; trying again")
                jobs = []
            for job in jobs:
                task = asyncio.create_task(self._attempt(job), name=f"outbox-{job.id}")
                self._in_flight[job.id] = task
                task.add_done_callback(lambda _t, job_id=job.id: self._in_flight.pop(job_id, None))
            await asyncio.sleep(self._poll_interval)

    async def dispatch_once(self) -> int:
        """Claim the rows due now, attempt them all and record the outcomes; how many.

        For tests and one-shot tools: unlike :meth:`run`, it waits for every attempt.
        """
        jobs = await asyncio.to_thread(self._claim, set(self._in_flight))
        await asyncio.gather(*(self._attempt(job) for job in jobs))
        return len(jobs)

    # -- one attempt ----------------------------------------------------------------------

    async def _attempt(self, job: Job) -> None:
        try:
            if job.kind == "webhook":
                outcome = await self._call_webhook(job)
            elif job.kind == "command":
                outcome = await self._send(job)
            else:
                outcome = Outcome(False, f"unknown outbox kind {job.kind!r}")
        except Exception as exc:  # any failure is this row's, never the dispatcher's
            outcome = Outcome(False, _describe(exc))
        try:
            await asyncio.to_thread(self._record, job, outcome)
        except Exception:
            log.exception("outbox row %d: cannot record the outcome; it will be retried",
                          job.id)

    async def _call_webhook(self, job: Job) -> Outcome:
        payload = job.payload
        timeout = float(payload.get("timeout", 5.0))
        body = str(payload.get("body") or "")
        try:
            response = await self._client().request(
                str(payload.get("method", "POST")), str(payload["url"]),
                content=body.encode(), timeout=timeout,
                headers={"Content-Type": _content_type(body),
                         "Idempotency-Key": f"palier-outbox-{job.id}",
                         "User-Agent": "palier-outbox"},
            )
        except httpx.TimeoutException as exc:
            return Outcome(False, f"timed out after {timeout:g} s ({type(exc).__name__})")
        except httpx.HTTPError as exc:
            return Outcome(False, _describe(exc))
        if response.is_success:
            return Outcome(True, http_status=response.status_code)
        snippet = response.text[:200].strip()
        error = f"HTTP {response.status_code} {response.reason_phrase}"
        return Outcome(False, f"{error}: {snippet}" if snippet else error,
                       http_status=response.status_code)

    async def _send(self, job: Job) -> Outcome:
        payload = job.payload
        try:
            await asyncio.wait_for(
                self._send_command(str(payload["device_id"]), str(payload["point"]),
                                   payload["value"]),
                self._command_timeout,
            )
        except TimeoutError:
            return Outcome(False, f"not published after {self._command_timeout:g} s")
        return Outcome(True)

    def _client(self) -> httpx.AsyncClient:
        if self._http is not None:
            return self._http
        if self._own_http is None:
            self._own_http = httpx.AsyncClient(follow_redirects=False)
        return self._own_http

    # -- the database (run in a thread) ---------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _lease(self, kind: str, payload: dict[str, Any]) -> float:
        timeout = float(payload.get("timeout", 5.0)) if kind == "webhook" else (
            self._command_timeout)
        return timeout + LEASE_MARGIN

    def _claim(self, busy: set[int]) -> list[Job]:
        now = self._now()
        jobs = []
        with self._database.session() as session:
            due = session.execute(
                select(OutboxEntry.id, OutboxEntry.alarm_id, OutboxEntry.kind,
                       OutboxEntry.payload, OutboxEntry.attempts)
                .where(OutboxEntry.status == "pending", OutboxEntry.next_attempt_at <= now)
                .order_by(OutboxEntry.next_attempt_at, OutboxEntry.id)
                .limit(self._batch_size)
            ).all()
            for row_id, alarm_id, kind, payload, attempts in due:
                if row_id in busy:
                    continue
                lease = now + timedelta(seconds=self._lease(kind, payload))
                claimed = cast(CursorResult[Any], session.execute(
                    update(OutboxEntry)
                    .where(OutboxEntry.id == row_id, OutboxEntry.status == "pending",
                           OutboxEntry.attempts == attempts)
                    .values(attempts=attempts + 1, next_attempt_at=lease)
                ))
                if claimed.rowcount == 1:
                    jobs.append(Job(row_id, alarm_id, kind, dict(payload), attempts + 1))
            session.commit()
        return jobs

    def _record(self, job: Job, outcome: Outcome) -> None:
        now = self._now()
        retries = int(job.payload.get("retries", self._command_retries))
        values: dict[str, Any] = {"http_status": outcome.http_status}
        if outcome.ok:
            values.update(status="sent", finished_at=now, last_error=None)
        elif job.attempt > retries:
            values.update(status="failed", finished_at=now, last_error=_clip(outcome.error))
        else:
            values.update(next_attempt_at=now + timedelta(seconds=self._backoff(job.attempt)),
                          last_error=_clip(outcome.error))
        with self._database.session() as session:
            # ``attempts`` guards against a dispatcher whose lease ran out: the row is
            # someone else's attempt by now, and that one records its own outcome.
            recorded = cast(CursorResult[Any], session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.id == job.id, OutboxEntry.attempts == job.attempt,
                       OutboxEntry.status == "pending")
                .values(**values)
            ))
            session.commit()
        if recorded.rowcount != 1:
            log.warning("outbox row %d: attempt %d finished after its lease; outcome dropped",
                        job.id, job.attempt)
            return
        if outcome.ok:
            self.sent += 1
            log.info("outbox row %d (%s, alarm %d) sent on attempt %d", job.id, job.kind,
                     job.alarm_id, job.attempt)
        elif values.get("status") == "failed":
            self.failed += 1
            log.error("outbox row %d (%s, alarm %d) failed after %d attempts: %s", job.id,
                      job.kind, job.alarm_id, job.attempt, outcome.error)
        else:
            log.warning("outbox row %d (%s, alarm %d) attempt %d failed: %s; retrying",
                        job.id, job.kind, job.alarm_id, job.attempt, outcome.error)

    def _backoff(self, attempt: int) -> float:
        """A delay in [ceiling/2, ceiling], the ceiling doubling with each attempt."""
        ceiling = min(self._backoff_cap, self._backoff_base * 2 ** min(attempt - 1, 30))
        return self._rng.uniform(ceiling / 2, ceiling)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _clip(text: str | None) -> str | None:
    return text if text is None or len(text) <= _MAX_ERROR else text[:_MAX_ERROR] + "…"


def _content_type(body: str) -> str:
    with contextlib.suppress(ValueError):
        json.loads(body)
        return "application/json"
    return "text/plain; charset=utf-8"
