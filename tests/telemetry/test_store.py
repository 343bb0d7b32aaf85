"""The embedded store on real SQLite and PostgreSQL: writes, roll-ups and history.

Every expected value is computed from the readings themselves by brute force,
never by the code under test.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence

import pytest
from sqlalchemy import select, update

from devices.records import Reading
from gateway.telemetry.errors import QueryError, StoreError
from gateway.telemetry.rollup import MAX_POINTS, Point
from gateway.telemetry.schema import last_values, meta, readings, rollup_1h, rollup_1m
from gateway.telemetry.store import TelemetryStore, default_telemetry_url
from tests.telemetry.conftest import T0, Clock

Bucket = tuple[float, float, float, int, float, float]  # min, max, sum, count, last, last_ts


def day_of_readings(seed: int = 7, step: float = 10.0) -> list[Reading]:
    """A day (ending at T0) of two series, one reading every ``step`` seconds each."""
    rng = random.Random(seed)
    out = []
    ts = T0 - 86400 + 0.25
    while ts < T0:
        out.append(Reading("boiler-lilas", "flow_temperature", round(rng.uniform(35, 70), 2), ts))
        out.append(Reading("temp-lilas-a-hall", "temperature", round(rng.gauss(19, 2), 2),
                           ts + 3.5))
        ts += step
    return out


def brute_buckets(rows: Iterable[Reading], width: int) -> dict[tuple[str, str, int], Bucket]:
    groups: dict[tuple[str, str, int], list[tuple[float, float]]] = defaultdict(list)
    for r in rows:
        groups[(r.device_id, r.point, int(r.at // width) * width)].append((r.at, float(r.value)))
    found = {}
    for key, items in groups.items():
        items.sort()
        values = [v for _, v in items]
        found[key] = (min(values), max(values), sum(values), len(values), items[-1][1],
                      items[-1][0])
    return found


def stored_buckets(store: TelemetryStore, table=rollup_1m) -> dict[tuple[str, str, int], Bucket]:
    c = table.c
    with store.engine.connect() as conn:
        rows = conn.execute(select(c.device_id, c.point, c.bucket, c.min, c.max, c.sum, c.count,
                                   c.last, c.last_ts)).all()
    return {(d, p, b): (mn, mx, s, n, last, lts) for d, p, b, mn, mx, s, n, last, lts in rows}


def assert_same(found: dict, expected: dict) -> None:
    assert found.keys() == expected.keys()
    for key, (mn, mx, total, count, last, last_ts) in expected.items():
        got = found[key]
        assert (got[0], got[1], got[3], got[4], got[5]) == (mn, mx, count, last, last_ts), key
        assert got[2] == pytest.approx(total, rel=1e-12), key


def write_in_batches(store: TelemetryStore, rows: Sequence[Reading], size: int = 1000) -> int:
    return sum(store.write_batch(rows[i:i + size]) for i in range(0, len(rows), size))


def raw_count(store: TelemetryStore) -> int:
    with store.engine.connect() as conn:
        return len(conn.execute(select(readings.c.ts)).all())


def test_a_day_of_readings_rolls_up_into_exact_minute_and_hour_buckets(
        store: TelemetryStore) -> None:
    rows = day_of_readings()
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)  # batches arrive in any order: `last` must not care
    assert write_in_batches(store, shuffled) == len(rows)
    assert_same(stored_buckets(store, rollup_1m), brute_buckets(rows, 60))
    assert_same(stored_buckets(store, rollup_1h), brute_buckets(rows, 3600))
    assert len(stored_buckets(store, rollup_1h)) == 2 * 24
    assert raw_count(store) == len(rows)


def test_writing_the_same_readings_again_counts_nothing_twice(store: TelemetryStore) -> None:
    rows = day_of_readings()[:3000]
    assert write_in_batches(store, rows) == 3000
    assert write_in_batches(store, rows) == 0
    overlapping = rows[2500:] + day_of_readings()[3000:3500]
    assert store.write_batch(overlapping) == 500
    everything = rows + day_of_readings()[3000:3500]
    assert_same(stored_buckets(store, rollup_1m), brute_buckets(everything, 60))
    assert_same(stored_buckets(store, rollup_1h), brute_buckets(everything, 3600))
    assert store.stats.duplicates == 3000 + 500


def test_within_one_batch_the_first_value_of_a_reading_wins(store: TelemetryStore) -> None:
    at = T0 - 30
    assert store.write_batch([Reading("d", "p", 1.0, at), Reading("d", "p", 2.0, at)]) == 1
    assert stored_buckets(store)[("d", "p", int(at // 60) * 60)] == (1.0, 1.0, 1.0, 1, 1.0, at)


def test_true_and_false_are_one_and_zero_numbers_are_doubles(store: TelemetryStore) -> None:
    at = T0 - 100
    store.write_batch([Reading("leak", "water_leak", True, at), Reading("leak", "water_leak",
                                                                        False, at + 1),
                       Reading("meter", "energy", 12345678901, at)])
    with store.engine.connect() as conn:
        got = {(d, p, ts): v for d, p, ts, v in conn.execute(select(readings)).all()}
    assert got == {("leak", "water_leak", at): 1.0, ("leak", "water_leak", at + 1): 0.0,
                   ("meter", "energy", at): 12345678901.0}


def test_text_points_keep_only_their_latest_value(store: TelemetryStore) -> None:
    at = T0 - 100
    assert store.write_batch([Reading("lift", "state", "moving", at),
                              Reading("lift", "state", "idle", at + 5)]) == 1
    assert store.last_value("lift", "state") == (at + 5, "idle")
    assert store.write_batch([Reading("lift", "state", "fault", at + 1)]) == 0  # older
    assert store.write_batch([Reading("lift", "state", "idle", at + 5)]) == 0  # the same
    assert store.last_value("lift", "state") == (at + 5, "idle")
    assert store.write_batch([Reading("lift", "state", "fault", at + 9)]) == 1
    assert store.last_value("lift", "state") == (at + 9, "fault")
    assert raw_count(store) == 0 and store.last_value("lift", "other") is None
    with store.engine.connect() as conn:
        assert len(conn.execute(select(last_values)).all()) == 1


def test_readings_older_than_raw_retention_are_refused_and_counted(
        store: TelemetryStore) -> None:
    horizon = T0 - store.retention.raw
    assert store.write_batch([Reading("d", "p", 1.0, horizon - 1),
                              Reading("d", "p", 2.0, horizon)]) == 1
    assert store.stats.too_old == 1
    assert store.write_batch([Reading("d", "p", float("inf"), T0)]) == 0
    assert store.stats.not_finite == 1
    assert store.write_batch([]) == 0


def brute_history(rows: Iterable[Reading], device: str, point: str, start: float, end: float,
                  every: int) -> list[Point]:
    found = brute_buckets([r for r in rows if r.device_id == device and r.point == point
                           and start <= r.at < end], every)
    return [Point(ts=b, min=mn, max=mx, mean=s / n, last=last, count=n)
            for (_, _, b), (mn, mx, s, n, last, _) in sorted(found.items())]


def assert_points(found: list[Point], expected: list[Point]) -> None:
    assert [(p.ts, p.min, p.max, p.count, p.last) for p in found] == [
        (p.ts, p.min, p.max, p.count, p.last) for p in expected]
    for got, want in zip(found, expected, strict=True):
        assert got.mean == pytest.approx(want.mean, rel=1e-12)


@pytest.mark.parametrize(("every", "source"), [(30, "raw"), (7, "raw"), (60, "1m"),
                                               (300, "1m"), (900, "1m"), (3600, "1h"),
                                               (6 * 3600, "1h")])
def test_history_rebuckets_each_source_exactly(store: TelemetryStore, every: int,
                                               source: str) -> None:
    rows = day_of_readings()
    write_in_batches(store, rows)
    start, end = T0 - 86400, T0
    if every < 60:
        start = T0 - 3 * 3600  # within MAX_POINTS at the raw resolution
    found = store.history("boiler-lilas", "flow_temperature", start, end, every)
    assert (found.plan.source, found.plan.every, found.plan.coarsened) == (source, every, False)
    assert_points(found.points, brute_history(rows, "boiler-lilas", "flow_temperature", start,
                                              end, every))


def test_history_is_one_series_and_only_the_asked_range(store: TelemetryStore) -> None:
    rows = day_of_readings()
    write_in_batches(store, rows)
    found = store.history("temp-lilas-a-hall", "temperature", T0 - 3 * 3600, T0 - 3600, 600)
    assert len(found.points) == 12
    assert_points(found.points, brute_history(rows, "temp-lilas-a-hall", "temperature",
                                              T0 - 3 * 3600, T0 - 3600, 600))
    assert store.history("nobody", "temperature", T0 - 3600, T0, 60).points == []


def test_past_raw_retention_history_comes_from_rollups(store: TelemetryStore,
                                                       clock: Clock) -> None:
    rows = day_of_readings()
    write_in_batches(store, rows)
    clock.now = T0 + 8 * 86400  # raw rows still there (no prune yet) but past retention
    found = store.history("boiler-lilas", "flow_temperature", T0 - 3600, T0, 30)
    assert (found.plan.source, found.plan.every, found.plan.coarsened) == ("1m", 60, True)
    assert_points(found.points, brute_history(rows, "boiler-lilas", "flow_temperature",
                                              T0 - 3600, T0, 60))


def test_a_week_at_one_second_is_coarsened_under_the_cap(store: TelemetryStore) -> None:
    rows = day_of_readings()
    write_in_batches(store, rows)
    found = store.history("boiler-lilas", "flow_temperature", T0 - 7 * 86400, T0, 1)
    assert found.plan.coarsened and len(found.points) <= MAX_POINTS
    assert found.plan.every == 600 and found.plan.source == "1m"
    assert sum(p.count for p in found.points) == len(rows) // 2
    assert_points(found.points, brute_history(rows, "boiler-lilas", "flow_temperature",
                                              T0 - 7 * 86400, T0, 600))


def test_a_bad_range_is_a_query_error(store: TelemetryStore) -> None:
    with pytest.raises(QueryError, match="'from' must be before 'to'"):
        store.history("d", "p", T0, T0 - 10, 60)


def test_starting_twice_changes_nothing(store_url: str, clock: Clock) -> None:
    with TelemetryStore(store_url, clock=clock) as first:
        first.write_batch([Reading("d", "p", 1.0, T0)])
    with TelemetryStore(store_url, clock=clock) as second:
        assert second.write_batch([Reading("d", "p", 1.0, T0)]) == 0
        with second.engine.connect() as conn:
            assert conn.execute(select(meta.c.value)).scalars().all() == ["1"]


def test_a_database_from_a_newer_palier_is_refused(store_url: str, clock: Clock) -> None:
    with TelemetryStore(store_url, clock=clock) as store, store.engine.begin() as conn:
        conn.execute(update(meta).values(value="99"))
    newer = TelemetryStore(store_url, clock=clock)
    with pytest.raises(StoreError, match="schema is version 99, written by a newer Palier"):
        newer.start()
    newer.close()


def test_an_unreachable_database_is_a_store_error_naming_it_without_password(
        tmp_path) -> None:
    store = TelemetryStore("postgresql+psycopg://palier:secret@127.0.0.1:1/nowhere")
    with pytest.raises(StoreError) as caught:
        store.start()
    assert "palier:***@127.0.0.1:1/nowhere" in str(caught.value)
    assert "secret" not in str(caught.value)
    store.close()


def test_the_default_database_is_a_file_under_var(tmp_path) -> None:
    url = default_telemetry_url(tmp_path / "var")
    assert url == f"sqlite:///{tmp_path / 'var' / 'telemetry.sqlite3'}"
    with TelemetryStore.open(None, tmp_path / "var") as store:
        store.write_batch([Reading("d", "p", 1.0, store.now())])
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
    assert (tmp_path / "var" / "telemetry.sqlite3").exists()


def test_shares_are_replaced_not_added(store: TelemetryStore) -> None:
    assert store.shares("lilas") == frozenset()
    store.set_shares("lilas", ["energy", "water"])
    store.set_shares("tilleuls", ["temperature"])
    store.set_shares("lilas", ["water"])
    assert store.shares("lilas") == {"water"} and store.shares("tilleuls") == {"temperature"}
    store.set_shares("lilas", [])
    assert store.shares("lilas") == frozenset()


def test_means_are_exact_for_true_false_series(store: TelemetryStore) -> None:
    at = T0 - 3600
    store.write_batch([Reading("pump", "running", i % 4 == 0, at + i) for i in range(120)])
    (point,) = store.history("pump", "running", at, at + 3600, 3600).points
    assert (point.count, point.min, point.max) == (120, 0.0, 1.0)
    assert math.isclose(point.mean, 0.25)
