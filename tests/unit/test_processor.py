"""gateway.processor on real SQLite stores: nothing is acknowledged before it is stored,
acknowledgements keep the arrival order, and a batch's readings never precede its alarms.

The intake side is a recorder of the acknowledgements (what gmqtt's socket would send);
the databases are real files: the social database (alarms, posts, rule states) and the
telemetry store in journal mode, as the gateway opens them.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from devices.registry import DeviceRegistry
from firmware_bridge.records import RawMessage
from gateway.backoff import Backoff
from gateway.config.loader import load_installation
from gateway.pipeline import Pipeline
from gateway.processor import Processor
from gateway.redelivery import DeliveryLog
from gateway.runtime import build_routes
from gateway.store import AlarmStore
from gateway.telemetry import journal as journaling
from gateway.telemetry.store import TelemetryStore
from rules.engine import RuleEngine
from social.db import Database
from social.places import sync_places
from tests.integration.harness import INSTALLATION


class Recorder:
    """An intake's acknowledger: the packet ids it was asked to PUBACK, write by write."""

    def __init__(self) -> None:
        self.writes: list[list[int]] = []

    def __call__(self, mids: list[int]) -> None:
        self.writes.append(list(mids))

    @property
    def acked(self) -> list[int]:
        return [mid for write in self.writes for mid in write]


class Flaky:
    """The alarm store, down for the first ``failures`` commits (a database restarting)."""

    def __init__(self, store: AlarmStore, failures: int, telemetry: Path) -> None:
        self.store, self.failures, self.telemetry = store, failures, telemetry
        self.readings_seen_while_down: list[int] = []

    def apply(self, actions: object, changes: object = ()) -> object:
        if self.failures:
            self.failures -= 1
            self.readings_seen_while_down.append(journal_rows(self.telemetry))
            raise sqlite3.OperationalError("database is locked")
        return self.store.apply(actions, changes)  # type: ignore[arg-type]

    def escalate_due(self) -> object:
        return self.store.escalate_due()


def journal_rows(telemetry: Path) -> int:
    with sqlite3.connect(journaling.journal_path(telemetry)) as conn:
        return conn.execute("SELECT count(*) FROM journal_batches AS b, json_each(b.rows)"
                            ).fetchone()[0]


@pytest.fixture
def parts(tmp_path: Path):
    installation = load_installation(INSTALLATION)
    database = Database(f"sqlite:///{tmp_path / 'social.db'}")
    database.migrate()
    with database.session() as session:
        sync_places(session, list(installation.places.values()))
        session.commit()
    registry = DeviceRegistry(installation.bridges)
    pipeline = Pipeline(build_routes(installation).routes, registry,
                        RuleEngine(installation.rules, registry, installation.places))
    telemetry_file = tmp_path / "telemetry.sqlite3"
    telemetry = TelemetryStore(f"sqlite:///{telemetry_file}", journal=True)
    telemetry.start()
    deliveries = DeliveryLog(telemetry, "gw")
    deliveries.start()
    yield pipeline, AlarmStore(database), telemetry, deliveries, telemetry_file, database
    telemetry.close()
    database.dispose()


def message(mid: int, payload: str = '{"temperature": 19.5}',
            topic: str = "zigbee2mqtt/temp_hall_a") -> RawMessage:
    return RawMessage(topic, payload.encode(), 1, False, 1_800_000_000.0 + mid, mid=mid)


async def until(condition, timeout: float = 10.0) -> None:
    async def wait() -> None:
        while not condition():  # noqa: ASYNC110 - polling plain attributes
            await asyncio.sleep(0.005)
    await asyncio.wait_for(wait(), timeout)


def test_messages_are_acked_once_stored_in_arrival_order(parts) -> None:
    pipeline, store, telemetry, deliveries, telemetry_file, _ = parts

    async def scenario() -> tuple[Recorder, Recorder, list[bool]]:
        processor = Processor(pipeline, store, telemetry=[telemetry], deliveries=deliveries,
                              max_batch=7)
        runner = asyncio.create_task(processor.run())
        first, second = Recorder(), Recorder()
        resolved: list[bool] = []
        for mid in range(1, 41):
            assert processor.offer(message(mid), first if mid <= 25 else second)
        waiter = asyncio.create_task(processor.submit(message(41)))
        waiter.add_done_callback(lambda f: resolved.append(not f.cancelled()))
        await until(lambda: len(second.acked) == 15 and resolved)
        await processor.drain(grace=5)
        runner.cancel()
        return first, second, resolved

    first, second, resolved = asyncio.run(scenario())
    assert first.acked == list(range(1, 26)) and second.acked == list(range(26, 41))
    assert resolved == [True]
    assert journal_rows(telemetry_file) == 41, "every reading stored before its PUBACK"


def test_nothing_is_acked_or_recorded_while_the_alarms_cannot_be_stored(parts) -> None:
    pipeline, store, telemetry, deliveries, telemetry_file, database = parts
    flaky = Flaky(store, failures=3, telemetry=telemetry_file)

    async def scenario() -> tuple[Recorder, list[int]]:
        processor = Processor(pipeline, flaky, telemetry=[telemetry], deliveries=deliveries,
                              backoff=Backoff(base=0.05, cap=0.05))
        runner = asyncio.create_task(processor.run())
        acks = Recorder()
        processor.offer(message(1, '{"water_leak": true}', "zigbee2mqtt/leak_cave_b"), acks)
        processor.offer(message(2), acks)
        seen: list[int] = []
        while flaky.failures:
            seen.append(len(acks.acked))
            await asyncio.sleep(0.01)
        await until(lambda: len(acks.acked) == 2)
        await processor.drain(grace=5)
        runner.cancel()
        return acks, seen

    acks, seen_while_down = asyncio.run(scenario())
    assert set(seen_while_down) == {0}, "no PUBACK while the alarm could not be stored"
    assert flaky.readings_seen_while_down == [0, 0, 0], "no reading or record before it"
    assert acks.acked == [1, 2]
    with sqlite3.connect(database.url.database) as conn:
        assert conn.execute("SELECT count(*) FROM alarms").fetchone()[0] == 1


def test_a_slow_commit_makes_the_next_one_bigger(parts) -> None:
    pipeline, store, telemetry, deliveries, _, _ = parts
    commits: list[int] = []
    original = telemetry.write_batch

    def slow(readings, **options):
        commits.append(len(readings))
        time.sleep(0.05)
        return original(readings, **options)

    telemetry.write_batch = slow  # type: ignore[method-assign]

    async def scenario() -> Recorder:
        processor = Processor(pipeline, store, telemetry=[telemetry], deliveries=deliveries,
                              max_batch=10)
        runner = asyncio.create_task(processor.run())
        acks = Recorder()
        for mid in range(1, 201):
            processor.offer(message(mid), acks)
            if mid % 10 == 0:
                await asyncio.sleep(0.005)  # messages keep arriving while commits run
        await until(lambda: len(acks.acked) == 200)
        await processor.drain(grace=5)
        runner.cancel()
        return acks

    acks = asyncio.run(scenario())
    assert acks.acked == list(range(1, 201))
    assert sum(commits) == 200 and len(commits) < 20, commits


def test_a_closed_processor_takes_nothing_more(parts) -> None:
    pipeline, store, telemetry, deliveries, _, _ = parts

    async def scenario() -> tuple[bool, Recorder]:
        processor = Processor(pipeline, store, telemetry=[telemetry], deliveries=deliveries)
        runner = asyncio.create_task(processor.run())
        acks = Recorder()
        processor.offer(message(1), acks)
        await processor.drain(grace=5)
        taken = processor.offer(message(2), acks)
        runner.cancel()
        return taken, acks

    taken, acks = asyncio.run(scenario())
    assert taken is False
    assert acks.acked == [1], "what was taken before the drain is stored and acknowledged"


def test_a_redelivery_of_a_message_still_being_stored_is_recognised(parts) -> None:
    """After a reconnection the broker sends unacknowledged messages again, perhaps while
    their first copy's batch is still committing: the copy must wait for it and be known."""
    pipeline, store, telemetry, deliveries, telemetry_file, _ = parts
    original = telemetry.write_batch

    def slow(readings, **options):
        time.sleep(0.1)
        return original(readings, **options)

    telemetry.write_batch = slow  # type: ignore[method-assign]

    async def scenario() -> tuple[Recorder, Recorder]:
        processor = Processor(pipeline, store, telemetry=[telemetry], deliveries=deliveries)
        runner = asyncio.create_task(processor.run())
        old, new = Recorder(), Recorder()
        processor.offer(message(5), old)  # the first connection, about to close
        await asyncio.sleep(0.02)  # its batch is committing
        again = message(5)
        processor.offer(RawMessage(again.topic, again.payload, 1, False, again.received_at + 3,
                                   dup=True, mid=5), new)
        await until(lambda: new.acked == [5])
        await processor.drain(grace=5)
        runner.cancel()
        return old, new

    old, new = asyncio.run(scenario())
    assert old.acked == [5] and new.acked == [5]
    assert deliveries.repeats == 1
    assert journal_rows(telemetry_file) == 1, "stored once"
