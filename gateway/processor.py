"""Runs the pipeline in batches and stores its effects before any message is acknowledged.

Two tasks, so that processing and storing overlap:

* ``_batches`` takes whatever the intake delivered — at once, no fixed wait — up to
  ``max_batch`` messages, runs the pipeline over them and queues the result (actions,
  the rules' changed states, readings) for storing; then it takes the next batch
  while the database thread commits the previous one;
* ``_commits`` stores the queued results one transaction at a time, in order — all
  the results waiting when it starts, so a slow commit makes the next one bigger, not
  later — and only then acknowledges their messages, in the order they arrived.

Batches are kept well under the broker's in-flight window (``receive_maximum``, 1000):
while one batch commits, its messages are unacknowledged, and the broker only sends
more as long as the window has room — so with a batch the size of the window, nothing
would arrive to process while it commits.

A message is acknowledged (QoS 1 PUBACK) only once everything it caused is committed.
The intake hands messages over with :meth:`Processor.offer` and an acknowledger that
sends a whole batch's PUBACKs in one write; :meth:`Processor.submit` is the
one-message form that returns once its message is stored. Rule timers queue their
actions the same way, so alarms never race each other.
"""

from __future__ import annotations

import asyncio
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

    def absorb(self, other: _Work) -> None:
        self.actions += other.actions
        self.changes += other.changes  # the last change per (rule, subject) wins
        self.readings += other.readings
        self.messages += other.messages
        self.delivered += other.delivered


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
        self._retry = StoreRetry("storing a batch", self._backoff)
        #: ``deliveries.store`` is one of ``telemetry``; it is written last (see _commit)
        self._deliveries = deliveries
        self._pending: deque[tuple[RawMessage, Token]] = deque()
        self._arrived = asyncio.Event()
        self._work: deque[_Work] = deque()
        self._queued = asyncio.Event()
        self._closed = False
        self._stopping = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.batches = 0
        self.commits = 0
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
               delivered: list[tuple[RawMessage, Token]]) -> None:
        """Queue a result for storing, with the rules' states and readings as they are now."""
        self._work.append(_Work(actions, self.pipeline.engine.take_state_changes(),
                                self.pipeline.take_readings(), messages, delivered))
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
            if self._deliveries is not None:
                messages = [m for m in messages if not self._deliveries.is_repeat(m)]
            actions = self.pipeline.process(messages)
            self._queue(actions, messages, delivered)
            # Let the intake read what has arrived meanwhile, and the commits go on.
            await asyncio.sleep(0)

    # -- storing --------------------------------------------------------------------------

    async def _commits(self) -> None:
        work = self._work
        while True:
            if not work:
                self._queued.clear()
                await self._queued.wait()
                continue
            taken = work.popleft()
            rounds = 1
            while work:
                taken.absorb(work.popleft())
                rounds += 1
            stored = await self._store(taken)
            self.batches += rounds
            self._settle(taken.delivered, stored)
            if not work and not self._pending:
                self._idle.set()

    async def _store(self, work: _Work) -> bool:
        """Commit a result, retrying with backoff (gateway.retry) while the database is away.

        False if we stopped before it worked (the messages then stay unacknowledged).
        """
        messages = work.messages
        if not (work.actions or work.changes or (work.readings and self._telemetry)
                or (messages and self._deliveries)):
            return True
        done: set[object] = set()
        while True:
            try:
                await asyncio.to_thread(self._commit, work.readings, work.actions,
                                        work.changes, messages, done)
                self._retry.succeeded()
                self.commits += 1
                if self._deliveries is not None:
                    self._deliveries.remember(messages)
                return True
            except Exception as exc:
                self.store_failures += 1
                delay = self._retry.failed(exc, len(work.delivered))
                if self._stopping.is_set():
                    return False
                await asyncio.sleep(delay)

    def _commit(self, readings: list[Reading], actions: list[Action],
                changes: list[StateChange], messages: Sequence[RawMessage] = (),
                done: set[object] | None = None) -> None:
        """Alarms and rule state first, in one transaction; then the readings, into the
        store that keeps the record of delivered messages last (gateway.redelivery): once
        that record commits, a redelivery of these messages is skipped, so all they caused
        must be stored by then. ``done`` keeps the steps that succeeded: a retry does not
        apply the same actions again (a raise and a clear in one batch would open a new
        episode), and every reading store is idempotent anyway."""
        done = set() if done is None else done
        if (actions or changes) and "actions" not in done:
            self._sink.apply(actions, changes)
            done.add("actions")
        record = self._deliveries
        for store in sorted(self._telemetry, key=lambda s: record is not None
                            and s is record.store):
            if id(store) in done:
                continue
            if record is not None and store is record.store:
                record.store.write_batch(readings, also=record.writer(messages))
            elif readings:
                store.write_batch(readings)
            done.add(id(store))

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
        while True:
            await asyncio.sleep(self._tick_interval)
            now = self._clock()
            actions = self.pipeline.check_heartbeats(now)
            actions += self.pipeline.engine.tick(now)
            self._queue(actions, [], [])
            try:
                await asyncio.to_thread(self._sink.escalate_due)
            except Exception as exc:
                if is_transient(exc):
                    log.warning("escalating due alarms failed, database unreachable (%s); "
                                "retrying at the next tick", describe(exc))
                else:
                    log.exception("escalating due alarms failed; retrying at the next tick")

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._batches(), name="pipeline-batches")
            group.create_task(self._commits(), name="pipeline-commits")
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
