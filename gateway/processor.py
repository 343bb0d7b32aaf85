"""Runs the pipeline in batches and stores its effects before any message is acknowledged.

Every message handler awaits the future of its batch; the future resolves once
the batch's actions are committed, and only then does the intake send PUBACK.
Rule timers run in the same serial order, so alarms never race each other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from devices.records import Reading
from firmware_bridge.records import RawMessage
from gateway.backoff import Backoff
from gateway.pipeline import Pipeline
from gateway.redelivery import DeliveryLog
from gateway.retry import StoreRetry, describe, is_transient
from rules.actions import Action, StateChange

log = logging.getLogger(__name__)


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


class Processor:
    def __init__(
        self,
        pipeline: Pipeline,
        sink: ActionSink,
        *,
        clock: Callable[[], float] = time.time,
        max_batch: int = 1000,
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
        #: batches and timers commit one at a time, in order, also while retrying
        self._commit_lock = asyncio.Lock()
        self._queue: asyncio.Queue[tuple[RawMessage, asyncio.Future[None]]] = asyncio.Queue()
        self._closed = False
        self._stopping = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.batches = 0
        self.store_failures = 0

    async def submit(self, message: RawMessage) -> None:
        """Called by the intake for each message; returns once its effects are stored."""
        if self._closed:
            # Shutting down: never acknowledge, the broker redelivers to our next session.
            await asyncio.Event().wait()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((message, future))
        await future

    async def _store(self, actions: list[Action], messages: Sequence[RawMessage] = ()) -> bool:
        """Commit ``actions``, the rules' new state and the readings, retrying with backoff
        (gateway.retry) while the database is away.

        False if we stopped before it worked (the messages then stay unacknowledged).
        """
        async with self._commit_lock:
            changes = self.pipeline.engine.take_state_changes()
            readings = self.pipeline.take_readings()
            if (not actions and not changes and not (readings and self._telemetry)
                    and not (messages and self._deliveries)):
                return True
            done: set[object] = set()
            while True:
                try:
                    await asyncio.to_thread(self._commit, readings, actions, changes, messages,
                                            done)
                    self._retry.succeeded()
                    if self._deliveries is not None:
                        self._deliveries.remember(messages)
                    return True
                except Exception as exc:
                    self.store_failures += 1
                    delay = self._retry.failed(exc, len(messages))
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

    async def _batches(self) -> None:
        while True:
            first = await self._queue.get()
            self._idle.clear()
            batch = [first]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            messages = [m for m, _ in batch]
            if self._deliveries is not None:
                messages = [m for m in messages if not self._deliveries.is_repeat(m)]
            actions = self.pipeline.process(messages)
            stored = await self._store(actions, messages)
            self.batches += 1
            for _, future in batch:
                if not future.done():
                    if stored:
                        future.set_result(None)
                    else:
                        future.cancel()
            if self._queue.empty():
                self._idle.set()

    async def _ticks(self) -> None:
        while True:
            await asyncio.sleep(self._tick_interval)
            now = self._clock()
            actions = self.pipeline.check_heartbeats(now)
            actions += self.pipeline.engine.tick(now)
            await self._store(actions)
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
            group.create_task(self._ticks(), name="rule-timers")

    async def drain(self, grace: float = 10.0) -> None:
        """Refuse new messages, then finish those already queued (their acks go out)."""
        self._closed = True
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            log.warning("shutdown: %d messages left unacknowledged", self._queue.qsize())
        self._stopping.set()
