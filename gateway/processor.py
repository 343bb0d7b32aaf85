"""Runs the pipeline in batches and stores its effects before any message is acknowledged.

Three tasks, so that processing and the two databases' commits overlap:

* ``_batches`` takes whatever the intake delivered — at once, no fixed wait — up to
  ``max_batch`` messages, runs the pipeline over them and queues the result (actions,
  the rules' changed states, readings) for storing; then it takes the next batch while
  the database threads commit the previous ones;
* ``_effects`` commits the alarms, posts and rule states (the social database), one
  transaction at a time, in order — all the results waiting when it starts, so a slow
  commit makes the next one bigger, not later;
* ``_records`` then commits the readings and the record of the delivered messages (the
  telemetry store, gateway.redelivery) — a batch's record never before its effects —
  and only then acknowledges its messages, in the order they arrived. While one batch's
  readings commit, the next batch's alarms do, so an alarm's post reaches residents
  after one commit, not two.

Batches are kept well under the broker's in-flight window (``receive_maximum``, 1000):
while one batch commits, its messages are unacknowledged, and the broker only sends
more as long as the window has room — so with a batch the size of the window, nothing
would arrive to process while it commits.

A message is acknowledged (QoS 1 PUBACK) only once everything it caused is committed.
The intake hands messages over with :meth:`Processor.offer` and an acknowledger that
sends a whole batch's PUBACKs in one write; :meth:`Processor.submit` is the
one-message form that returns once its message is stored. Rule timers queue their
actions the same way (with the escalations due), so alarms never race each other.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from devices.records import Reading
from firmware_bridge.records import RawMessage
from gateway.backoff import Backoff
from gateway.pipeline import Pipeline
from gateway.redelivery import DeliveryLog
from gateway.retry import StoreRetry, describe, is_transient
from rules.actions import Action, StateChange

log = logging.getLogger(__name__)

#: Allocations between two young garbage collections (CPython's default is 700): the
#: pipeline allocates a few dozen short-lived objects a message, almost all freed by
#: reference counting, so collecting less often costs no memory and saves time.
GC_THRESHOLD = (20_000, 20, 20)
#: A commit slower than this (seconds) is logged: it holds up acknowledgements and alerts.
SLOW_COMMIT = 0.25
#: Timer rounds between two looks for escalations due (with 0.5 s rounds: every 2 s).
ESCALATE_EVERY = 4

#: Sends the PUBACKs of these packet ids, in this order, on the connection they came from.
Acknowledge = Callable[[list[int]], None]
#: What a message waits on: an intake's acknowledger, a future (``submit``), or nothing.
Token = Acknowledge | asyncio.Future[None] | None


class ActionSink(Protocol):
    def apply(self, actions: Sequence[Action], state_changes: Sequence[StateChange] = ()) -> object:
        """Store the effects of ``actions`` and the rules' state durably, in one transaction."""
        ...

    def escalate_due(self) -> object:
        """Escalate alarms left unacknowledged past a step of their rule."""
        ...


class ReadingSink(Protocol):
    def write_batch(self, readings: Sequence[Reading]) -> object:
        """Store readings durably; idempotent (a retried batch must not count twice)."""
        ...


@dataclass(slots=True)
class _Work:
    """A processed batch (or a timer round) waiting to be stored, then acknowledged."""

    actions: list[Action]
    changes: list[StateChange]
    readings: list[Reading]
    #: the messages the pipeline processed (redeliveries of stored ones left out)
    messages: list[RawMessage]
    #: every message taken, with what waits on it, in arrival order
    delivered: list[tuple[RawMessage, Token]] = field(default_factory=list)
    #: a timer round: take the escalations due, too
    escalate: bool = False
    #: the telemetry stores already written (by id), for a retry
    done: set[int] = field(default_factory=set)

    def absorb(self, other: _Work) -> None:
        self.actions += other.actions
        self.changes += other.changes  # the last change per (rule, subject) wins
        self.readings += other.readings
        self.messages += other.messages
        self.delivered += other.delivered
        self.escalate = self.escalate or other.escalate


def _take_all(queue: deque[_Work]) -> tuple[_Work, int]:
    """Everything waiting, as one result (one transaction), and how many it was."""
    taken = queue.popleft()
    rounds = 1
    while queue:
        taken.absorb(queue.popleft())
        rounds += 1
    return taken, rounds


class Processor:
    def __init__(
        self,
        pipeline: Pipeline,
        sink: ActionSink,
        *,
        clock: Callable[[], float] = time.time,
        max_batch: int = 250,
        tick_interval: float = 0.5,
        backoff: Backoff | None = None,
        telemetry: Sequence[ReadingSink] = (),
        deliveries: DeliveryLog | None = None,
    ) -> None:
        self.pipeline = pipeline
        self._sink = sink
        self._telemetry = tuple(telemetry)
        self._clock = clock
        self._max_batch = max_batch
        self._tick_interval = tick_interval
        self._backoff = backoff or Backoff(base=0.2, cap=10.0)
        self._effects_retry = StoreRetry("storing a batch", self._backoff)
        self._records_retry = StoreRetry("storing a batch",
                                         Backoff(base=self._backoff.base, cap=self._backoff.cap))
        #: ``deliveries.store`` is one of ``telemetry``; it is written last (_write_readings)
        self._deliveries = deliveries
        self._pending: deque[tuple[RawMessage, Token]] = deque()
        self._arrived = asyncio.Event()
        self._work: deque[_Work] = deque()
        self._queued = asyncio.Event()
        self._records_queue: deque[tuple[_Work, int]] = deque()
        self._records_ready = asyncio.Event()
        self._closed = False
        self._stopping = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        #: results queued and not yet through both stages; the event is set when none are
        self._unstored = 0
        self._all_stored = asyncio.Event()
        self._all_stored.set()
        self.batches = 0
        self.commits = 0
        #: wall time spent in commits (the database threads), for the status and benches
        self.commit_seconds = 0.0
        self.store_failures = 0

    # -- intake ---------------------------------------------------------------------------

    def offer(self, message: RawMessage, acknowledge: Token = None) -> bool:
        """Take a message from the intake; ``acknowledge([mid, ...])`` is called once it is
        stored (with the other messages of its batch). False when shutting down: the
        message is left unacknowledged, and the broker delivers it to the next session."""
        if self._closed:
            return False
        self._pending.append((message, acknowledge))
        if not self._arrived.is_set():
            self._arrived.set()
            self._idle.clear()
        return True

    async def submit(self, message: RawMessage) -> None:
        """One message at a time: returns once its effects are stored."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not self.offer(message, future):
            # Shutting down: never acknowledge, the broker redelivers to our next session.
            await asyncio.Event().wait()
        await future

    # -- processing -----------------------------------------------------------------------

    def _queue(self, actions: list[Action], messages: list[RawMessage],
               delivered: list[tuple[RawMessage, Token]], *, escalate: bool = False) -> None:
        """Queue a result for storing, with the rules' states and readings as they are now."""
        self._work.append(_Work(actions, self.pipeline.engine.take_state_changes(),
                                self.pipeline.take_readings(), messages, delivered,
                                escalate=escalate))
        self._unstored += 1
        self._all_stored.clear()
        self._queued.set()
        self._idle.clear()

    async def _batches(self) -> None:
        pending = self._pending
        while True:
            if not pending:
                self._arrived.clear()
                await self._arrived.wait()
                continue
            count = min(len(pending), self._max_batch)
            delivered = [pending.popleft() for _ in range(count)]
            messages = [m for m, _ in delivered]
            if self._deliveries is not None and any(m.dup for m in messages):
                # A redelivery (after a reconnection) may be of a message whose batch
                # is still being stored: wait until it is, then it is recognised.
                await self._all_stored.wait()
                is_repeat = self._deliveries.is_repeat
                messages = [m for m in messages if not (m.dup and is_repeat(m))]
            actions = self.pipeline.process(messages)
            self._queue(actions, messages, delivered)
            # Let the intake read what has arrived meanwhile, and the commits go on.
            await asyncio.sleep(0)

    # -- storing --------------------------------------------------------------------------

    async def _effects(self) -> None:
        """Stage one: alarms, posts and rule states (the social database), in order."""
        work = self._work
        while True:
            if not work:
                self._queued.clear()
                await self._queued.wait()
                continue
            taken, rounds = _take_all(work)
            if not await self._store(taken, self._apply, self._effects_retry):
                self._give_up(taken, rounds)
                continue
            self._records_queue.append((taken, rounds))
            self._records_ready.set()

    async def _records(self) -> None:
        """Stage two: readings and the record of delivered messages, then acknowledge.

        It runs beside stage one — while one batch's readings commit to the telemetry
        store, the next batch's alarms commit to the social database — and keeps the order
        both ways: a batch's record is written only once its effects are stored."""
        queue = self._records_queue
        while True:
            if not queue:
                self._records_ready.clear()
                await self._records_ready.wait()
                continue
            taken, rounds = queue.popleft()
            while queue:
                more, count = queue.popleft()
                taken.absorb(more)
                rounds += count
            stored = await self._store(taken, self._write_readings, self._records_retry)
            self._settle(taken.delivered, stored)
            self._done(rounds)

    def _give_up(self, taken: _Work, rounds: int) -> None:
        """Stopping while the database is away: leave the messages unacknowledged."""
        self._settle(taken.delivered, False)
        self._done(rounds)

    def _done(self, rounds: int) -> None:
        self.batches += rounds
        self._unstored -= rounds
        if not self._unstored:
            self._all_stored.set()
            if not self._pending:
                self._idle.set()

    async def _store(self, work: _Work, step: Callable[[_Work], bool],
                     retry: StoreRetry) -> bool:
        """Run ``step`` in a database thread, retrying with backoff (gateway.retry) while
        the database is away. False if we stopped before it worked (the messages then stay
        unacknowledged). ``step`` says whether it did anything (for the counters)."""
        while True:
            began = time.perf_counter()
            try:
                if not await asyncio.to_thread(step, work):
                    return True
                retry.succeeded()
                took = time.perf_counter() - began
                self.commits += 1
                self.commit_seconds += took
                if took > SLOW_COMMIT:
                    log.warning("slow commit: %s took %.0f ms for %d messages",
                                step.__name__.strip("_").replace("_", " "), took * 1000,
                                len(work.delivered))
                return True
            except Exception as exc:
                self.store_failures += 1
                delay = retry.failed(exc, len(work.delivered))
                if self._stopping.is_set():
                    return False
                await asyncio.sleep(delay)

    def _apply(self, work: _Work) -> bool:
        """Alarms and rule states, in one transaction; then any escalation due (a timer
        round asks), in the same thread, so the two never wait for each other's lock."""
        wrote = False
        if work.actions or work.changes:
            self._sink.apply(work.actions, work.changes)
            work.actions, work.changes = [], []  # stored: a retry of what follows skips them
            wrote = True
        if work.escalate:
            work.escalate = False
            try:
                self._sink.escalate_due()
            except Exception as exc:
                if is_transient(exc):
                    log.warning("escalating due alarms failed, database unreachable (%s); "
                                "retrying at the next tick", describe(exc))
                else:
                    log.exception("escalating due alarms failed; retrying at the next tick")
        return wrote

    def _write_readings(self, work: _Work) -> bool:
        """The readings, into every telemetry store; the store that keeps the record of
        delivered messages last (gateway.redelivery): once that record commits, a
        redelivery of these messages is skipped, so all they caused must be stored by then.
        Each store done is remembered, so a retry writes only the others."""
        record = self._deliveries
        wrote = False
        for store in sorted(self._telemetry, key=lambda s: record is not None
                            and s is record.store):
            if id(store) in work.done:
                continue
            if record is not None and store is record.store:
                if work.messages or work.readings:
                    record.store.write_batch(work.readings, also=record.writer(work.messages))
                    wrote = True
            elif work.readings:
                store.write_batch(work.readings)
                wrote = True
            work.done.add(id(store))
        if record is not None and work.messages:
            record.remember(work.messages)
        return wrote

    def _settle(self, delivered: list[tuple[RawMessage, Token]], stored: bool) -> None:
        """Acknowledge stored messages in arrival order, one write per connection run."""
        run: list[int] = []
        current: Token = None
        for message, token in delivered:
            if token is None:
                continue
            if isinstance(token, asyncio.Future):
                if current is not None and run:
                    current(run)  # type: ignore[operator]
                    run = []
                if not token.done():
                    if stored:
                        token.set_result(None)
                    else:
                        token.cancel()
                continue
            if not stored or message.mid is None:
                continue
            if token is not current:
                if current is not None and run:
                    current(run)  # type: ignore[operator]
                run, current = [], token
            run.append(message.mid)
        if current is not None and run:
            current(run)  # type: ignore[operator]

    # -- timers ---------------------------------------------------------------------------

    async def _ticks(self) -> None:
        rounds = 0
        while True:
            await asyncio.sleep(self._tick_interval)
            now = self._clock()
            actions = self.pipeline.check_heartbeats(now)
            actions += self.pipeline.engine.tick(now)
            # Escalation steps are minutes apart: looking for due ones every few seconds
            # is enough, and spares the social database a transaction every tick.
            self._queue(actions, [], [], escalate=rounds % ESCALATE_EVERY == 0)
            rounds += 1

    async def run(self) -> None:
        _settle_garbage_collector()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._batches(), name="pipeline-batches")
            group.create_task(self._effects(), name="store-effects")
            group.create_task(self._records(), name="store-readings")
            group.create_task(self._ticks(), name="rule-timers")

    async def drain(self, grace: float = 10.0) -> None:
        """Refuse new messages, then finish those already queued (their acks go out)."""
        self._closed = True
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            log.warning("shutdown: %d messages left unacknowledged",
                        len(self._pending) + sum(len(w.delivered) for w in self._work))
        self._stopping.set()


def _settle_garbage_collector() -> None:
    """Keep the cyclic garbage collector off what lives as long as the process.

    By the time messages flow, the configuration, the registry and the rule bindings
    are a million objects that every full collection would walk again (measured: a
    quarter of the pipeline's time at 10,000 devices). ``gc.freeze`` moves the
    survivors of one last collection out of its sight; a reload's new objects are
    collected as usual.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
