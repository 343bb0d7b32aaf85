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
    ) -> None:
        self.pipeline = pipeline
        self._sink = sink
        self._telemetry = tuple(telemetry)
        self._clock = clock
        self._max_batch = max_batch
        self._tick_interval = tick_interval
        self._backoff = backoff or Backoff(base=0.2, cap=10.0)
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

    async def _store(self, actions: list[Action]) -> bool:
        """Commit ``actions`` and the rules' new state, retrying with backoff.

        False if we stopped before it worked (the messages then stay unacknowledged).
        """
        changes = self.pipeline.engine.take_state_changes()
        readings = self.pipeline.take_readings()
        if not actions and not changes and not (readings and self._telemetry):
            return True
        while True:
            try:
                await asyncio.to_thread(self._commit, readings, actions, changes)
                self._backoff.reset()
                return True
            except Exception:
                self.store_failures += 1
                log.exception("storing %d actions failed; retrying", len(actions))
                if self._stopping.is_set():
                    return False
                await asyncio.sleep(self._backoff.next_delay())

    def _commit(self, readings: list[Reading], actions: list[Action],
                changes: list[StateChange]) -> None:
        """Readings first (idempotent), then alarms and rule state in one transaction."""
        for store in self._telemetry:
            if readings:
                store.write_batch(readings)
        if actions or changes:
            self._sink.apply(actions, changes)

    async def _batches(self) -> None:
        while True:
            first = await self._queue.get()
            self._idle.clear()
            batch = [first]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            actions = self.pipeline.process([m for m, _ in batch])
            stored = await self._store(actions)
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
            except Exception:
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
