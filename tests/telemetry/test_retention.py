"""Retention: what prune deletes, in how many transactions, and the background task."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from devices.records import Reading
from gateway.telemetry.errors import StoreError
from gateway.telemetry.retention import PruneReport, Retention, TelemetryMaintenance
from gateway.telemetry.schema import readings, rollup_1h, rollup_1m
from gateway.telemetry.store import TelemetryStore
from tests.telemetry.conftest import T0, Clock

#: Short retentions, so that a few thousand readings cross every boundary.
SHORT = Retention(raw=3600, minute=4 * 3600, hour=2 * 86400)


@pytest.fixture
def short_store(store_url: str, clock: Clock) -> Iterator[TelemetryStore]:
    with TelemetryStore(store_url, clock=clock, retention=SHORT) as opened:
        yield opened


def fill(store: TelemetryStore, clock: Clock, start: float, end: float, step: float) -> int:
    """One reading every ``step`` seconds over ``[start, end)``, each written while fresh."""
    ts, written = start, 0
    while ts < end:
        batch: list[Reading] = []
        while ts < end and len(batch) < 1000:
            batch.append(Reading("meter", "power", ts - start, ts))
            ts += step
        clock.now = batch[0].at  # nothing in the batch is past raw retention yet
        written += store.write_batch(batch)
    return written


def column(store: TelemetryStore, table, name: str) -> list[float]:
    with store.engine.connect() as conn:
        return sorted(conn.execute(select(table.c[name])).scalars())


def test_prune_removes_exactly_what_is_past_each_retention(short_store: TelemetryStore,
                                                          clock: Clock) -> None:
    fill(short_store, clock, T0 - 3 * 86400, T0, 60)
    kept_raw = [ts for ts in column(short_store, readings, "ts") if ts >= T0 - SHORT.raw]
    kept_1m = [b for b in column(short_store, rollup_1m, "bucket") if b >= T0 - SHORT.minute]
    kept_1h = [b for b in column(short_store, rollup_1h, "bucket") if b >= T0 - SHORT.hour]
    before_1h = column(short_store, rollup_1h, "bucket")
    assert len(before_1h) == 72

    report = short_store.prune(T0)

    assert column(short_store, readings, "ts") == kept_raw
    assert kept_raw[0] == T0 - SHORT.raw  # a reading exactly at the boundary stays
    assert column(short_store, rollup_1m, "bucket") == kept_1m
    assert column(short_store, rollup_1h, "bucket") == kept_1h and len(kept_1h) == 48
    assert report.deleted == {"readings": 3 * 1440 - 60, "rollup_1m": 3 * 1440 - 240,
                              "rollup_1h": 24}
    assert short_store.prune(T0).total == 0  # nothing left to do


def test_prune_deletes_in_bounded_chunks(short_store: TelemetryStore, clock: Clock) -> None:
    fill(short_store, clock, T0 - 2 * 3600 - 1000, T0 - 2 * 3600, 1)  # 1000 old raw rows
    fill(short_store, clock, T0 - 60, T0, 1)  # and 60 recent ones
    asked: list[float] = []

    def between_chunks() -> bool:
        asked.append(short_store.now())
        return False

    report = short_store.prune(T0, chunk=100, pause=0, should_stop=between_chunks)
    assert report.deleted["readings"] == 1000
    # 10 full chunks, then one that finds fewer than 100 rows and ends the table's turn;
    # then one chunk for each roll-up table.
    assert report.chunks == 11 + 1 + 1 == len(asked)
    assert column(short_store, readings, "ts") == [T0 - 60 + i for i in range(60)]


def test_a_write_between_two_chunks_goes_straight_through(short_store: TelemetryStore,
                                                         clock: Clock) -> None:
    """Each chunk commits: no lock is held across chunks, so ingest never waits for a prune.

    If one were, the write would wait out the 10-second busy timeout and fail.
    """
    fill(short_store, clock, T0 - 2 * 3600 - 500, T0 - 2 * 3600, 1)
    clock.now = T0
    written: list[int] = []

    def between_chunks() -> bool:
        written.append(short_store.write_batch([Reading("meter", "power", 1.0,
                                                        T0 - len(written) - 1)]))
        return False

    report = short_store.prune(T0, chunk=100, pause=0, should_stop=between_chunks)
    assert report.deleted["readings"] == 500
    assert written == [1] * report.chunks


def test_prune_stops_between_chunks_when_asked(short_store: TelemetryStore,
                                              clock: Clock) -> None:
    fill(short_store, clock, T0 - 2 * 3600 - 500, T0 - 2 * 3600, 1)
    asked: list[int] = []

    def after_three_chunks() -> bool:
        asked.append(1)
        return len(asked) > 3

    report = short_store.prune(T0, chunk=100, should_stop=after_three_chunks)
    assert report.stopped and report.deleted == {"readings": 300}
    with short_store.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(readings)) == 200


def test_retention_must_grow_from_raw_to_hours() -> None:
    with pytest.raises(ValueError, match="grow from raw to 1-minute to 1-hour"):
        Retention(raw=90 * 86400, minute=7 * 86400)
    with pytest.raises(ValueError, match="must be positive"):
        Retention(raw=0)


def test_maintenance_prunes_in_the_background_and_stops_when_cancelled(
        short_store: TelemetryStore, clock: Clock) -> None:
    fill(short_store, clock, T0 - 2 * 3600 - 500, T0 - 2 * 3600, 1)
    clock.now = T0
    maintenance = TelemetryMaintenance(short_store, interval=0.05)

    async def scenario() -> None:
        task = asyncio.create_task(maintenance.run(), name="telemetry-maintenance")
        while maintenance.last_report is None:  # noqa: ASYNC110 - polling a plain attribute
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(scenario(), 10))
    assert maintenance.last_report is not None
    assert maintenance.last_report.deleted["readings"] == 500
    assert maintenance.failures == 0
    assert maintenance._stop.is_set()


class FailingStore:
    """A store whose database is down: prune raises as the real one does."""

    def __init__(self) -> None:
        self.calls = 0

    def prune(self, **_options: object) -> PruneReport:
        self.calls += 1
        raise StoreError("telemetry database sqlite:///x: disk I/O error")


def test_a_failed_pass_is_logged_and_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    store = FailingStore()
    maintenance = TelemetryMaintenance(store, interval=0.01)  # type: ignore[arg-type]

    async def scenario() -> None:
        task = asyncio.create_task(maintenance.run())
        while store.calls < 3:  # noqa: ASYNC110 - polling a plain attribute
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(scenario(), 10))
    assert maintenance.failures >= 3
    assert "telemetry retention failed; trying again in 0.01s" in caplog.text


def test_the_interval_must_be_positive(short_store: TelemetryStore) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        TelemetryMaintenance(short_store, interval=0)
