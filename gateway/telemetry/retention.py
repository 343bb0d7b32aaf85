"""How long telemetry is kept, and the background task that trims it.

Deleting a week of readings in one statement would hold SQLite's write lock for
as long as it takes, and ingest would wait behind it. The store deletes in
bounded chunks instead, each in its own short transaction with a pause between
them, so a waiting writer always gets in: see :meth:`TelemetryStore.prune`.
:class:`TelemetryMaintenance` runs that in a worker thread every few minutes, and,
for a store in journal mode, files the journal every second (gateway.telemetry.journal).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.telemetry.journal import Compaction
    from gateway.telemetry.store import TelemetryStore

log = logging.getLogger(__name__)

_DAY = 86400.0
#: How much lower the journal filer's CPU priority is (Linux ``nice``): filing is work the
#: acknowledgements do not wait for, so it takes the CPU the intake leaves over.
FILER_NICENESS = 19


def _lower_priority() -> None:
    """Lower this thread's priority (Linux: a thread is its own task for the scheduler)."""
    if sys.platform.startswith("linux"):
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid)
                           + FILER_NICENESS)
        except OSError as exc:
            log.debug("telemetry filer keeps its priority: %s", exc)


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each table keeps its rows, in seconds.

    Each finer table must not outlive a coarser one: history falls back from raw to
    1-minute to 1-hour data as a range reaches further back. The raw retention is
    also the horizon of idempotence — the raw table is what recognises a reading
    written twice — so readings older than it are refused at write time.
    """

    raw: float = 7 * _DAY
    minute: float = 90 * _DAY
    hour: float = 5 * 365 * _DAY

    def __post_init__(self) -> None:
        if not 0 < self.raw <= self.minute <= self.hour:
            raise ValueError(
                "retention must be positive and grow from raw to 1-minute to 1-hour roll-ups, "
                f"got raw={self.raw:g}s, 1m={self.minute:g}s, 1h={self.hour:g}s")


@dataclass
class PruneReport:
    """What one prune pass deleted, per table, and in how many transactions."""

    now: float
    deleted: dict[str, int] = field(default_factory=dict)
    chunks: int = 0
    seconds: float = 0.0
    stopped: bool = False

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


class TelemetryMaintenance:
    """Prunes the store every ``interval`` seconds, off the event loop; in journal mode,
    also compacts it every ``compact_every`` seconds.

    A failed pass is logged and tried again at the next interval: losing a prune
    only delays a deletion, whereas letting it end the gateway's task group would
    stop ingest. Cancelling :meth:`run` asks the running pass to stop after its
    current chunk (a thread cannot be cancelled mid-statement).
    """

    def __init__(self, store: TelemetryStore, interval: float = 300.0,
                 compact_every: float = 2.0) -> None:
        if interval <= 0 or compact_every <= 0:
            raise ValueError("the maintenance interval must be positive, got "
                             f"{min(interval, compact_every)!r}")
        self._store = store
        self._interval = interval
        self._compact_every = compact_every
        self._stop = threading.Event()
        self.last_report: PruneReport | None = None
        self.failures = 0
        self.compaction_failures = 0

    async def run_once(self) -> PruneReport:
        report = await asyncio.to_thread(self._store.prune, should_stop=self._stop.is_set)
        self.last_report = report
        if report.total:
            log.info("telemetry retention: deleted %s in %d chunks (%.2fs)",
                     ", ".join(f"{n} {table}" for table, n in report.deleted.items() if n),
                     report.chunks, report.seconds)
        return report

    async def run(self) -> None:
        try:
            if getattr(self._store, "journaled", False):
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._prunes(), name="telemetry-retention")
                    group.create_task(self._compactions(), name="telemetry-compaction")
            else:
                await self._prunes()
        except asyncio.CancelledError:
            self._stop.set()
            raise

    async def _compactions(self) -> None:
        """File the journal regularly, in a thread of lower priority; a failure is logged
        and tried again (nothing is lost: the rows wait in the journal)."""
        loop = asyncio.get_running_loop()
        filer = ThreadPoolExecutor(1, thread_name_prefix="telemetry-filer",
                                   initializer=_lower_priority)
        try:
            while True:
                await asyncio.sleep(self._compact_every)
                try:
                    while (await loop.run_in_executor(filer, self._file)).top is not None:
                        await asyncio.to_thread(self._store.forget_filed)
                    await asyncio.to_thread(self._store.forget_filed)
                except Exception:
                    self.compaction_failures += 1
                    log.exception("telemetry: filing the journal failed; trying again in %gs",
                                  self._compact_every)
        finally:
            filer.shutdown(wait=False)

    def _file(self) -> Compaction:
        return self._store.compact(forget=False)

    async def _prunes(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.run_once()
            except Exception:
                self.failures += 1
                log.exception("telemetry retention failed; trying again in %gs", self._interval)
            await asyncio.sleep(max(0.0, self._interval - (time.monotonic() - started)))
