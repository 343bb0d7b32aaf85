"""Journal mode on real SQLite files: a batch is appended, then filed in bulk — exactly.

Every expected value is computed from the readings themselves by brute force
(tests.telemetry.test_store), never by the code under test.
"""

from __future__ import annotations

import math
import random
import sqlite3
import struct
import threading
import time
from pathlib import Path

import pytest

from devices.records import Reading
from firmware_bridge.records import RawMessage
from gateway.redelivery import DeliveryLog
from gateway.telemetry import journal as journaling
from gateway.telemetry.schema import rollup_1h, rollup_1m
from gateway.telemetry.store import ROLLUPS, TelemetryStore
from tests.telemetry.conftest import T0, Clock
from tests.telemetry.test_store import (
    assert_same,
    brute_buckets,
    day_of_readings,
    raw_count,
    stored_buckets,
    write_in_batches,
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "telemetry.sqlite3"


def journal_store(path: Path, clock: Clock) -> TelemetryStore:
    store = TelemetryStore(f"sqlite:///{path}", clock=clock, journal=True)
    store.start()
    return store


def journal_rows(path: Path) -> int:
    with sqlite3.connect(journaling.journal_path(path)) as conn:
        return conn.execute("SELECT count(*) FROM journal_batches AS b, json_each(b.rows)"
                            ).fetchone()[0]


def test_a_day_is_appended_then_filed_into_exact_buckets(path: Path, clock: Clock) -> None:
    store = journal_store(path, clock)
    assert store.journaled
    rows = day_of_readings()
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)  # batches arrive in any order: `last` must not care
    assert write_in_batches(store, shuffled) == len(rows)  # appended
    assert journal_rows(path) == len(rows) and raw_count(store) == 0, "nothing filed yet"
    while store.compact(limit=5000).top is not None:  # several compactions, in order
        pass
    assert journal_rows(path) == 0
    assert raw_count(store) == len(rows)
    assert_same(stored_buckets(store, rollup_1m), brute_buckets(rows, 60))
    assert_same(stored_buckets(store, rollup_1h), brute_buckets(rows, 3600))
    assert store.stats.stored == len(rows) and store.stats.duplicates == 0
    store.close()


def test_readings_written_twice_are_filed_once_and_the_first_value_wins(
        path: Path, clock: Clock) -> None:
    store = journal_store(path, clock)
    rows = day_of_readings()[:3000]
    write_in_batches(store, rows)
    store.compact()
    write_in_batches(store, rows)  # a retried batch, after the first was filed
    at = T0 - 30
    store.write_batch([Reading("d", "p", 1.0, at), Reading("d", "p", 2.0, at)])
    store.write_batch([Reading("d", "p", 3.0, at)])  # same key, later batch: not filed
    store.compact()
    everything = [*rows, Reading("d", "p", 1.0, at)]
    assert_same(stored_buckets(store, rollup_1m), brute_buckets(everything, 60))
    assert_same(stored_buckets(store, rollup_1h), brute_buckets(everything, 3600))
    # the retried 3,000, the second value in one batch and the one in a later batch
    assert store.stats.duplicates == 3000 + 2
    store.close()


def test_a_crash_between_filing_and_forgetting_counts_nothing_twice(
        path: Path, clock: Clock) -> None:
    store = journal_store(path, clock)
    rows = day_of_readings()[:2000]
    write_in_batches(store, rows)
    # what compact does, stopped after the main file committed and before the journal
    # rows were deleted (the process died in between)
    with store._write() as connection:
        done = journaling.compact(connection, 10_000,
                                  [(table.name, width) for table, width in ROLLUPS])
    assert done.inserted == 2000 and journal_rows(path) == 2000
    store.engine.dispose()  # the crash: nothing else of this process survives

    restarted = journal_store(path, clock)
    again = restarted.compact()
    assert again.rows == 2000 and again.inserted == 0 and again.duplicates == 2000
    assert journal_rows(path) == 0
    assert raw_count(restarted) == 2000
    assert_same(stored_buckets(restarted, rollup_1m), brute_buckets(rows, 60))
    assert_same(stored_buckets(restarted, rollup_1h), brute_buckets(rows, 3600))
    restarted.close()


def test_what_a_crashed_process_journaled_is_read_after_a_restart(
        path: Path, clock: Clock) -> None:
    store = journal_store(path, clock)
    at = T0 - 90
    store.write_batch([Reading("boiler", "pressure", 1.5, at),
                       Reading("lift", "state", "fault", at)])
    store.engine.dispose()  # no close(): the process died with the journal unfiled

    restarted = journal_store(path, clock)
    history = restarted.history("boiler", "pressure", at - 60, at + 60, every=1)
    assert [(p.ts, p.last) for p in history.points] == [(int(at), 1.5)]
    assert restarted.last_value("lift", "state") == (at, "fault")
    restarted.close()


def test_every_double_comes_back_exactly(path: Path, clock: Clock) -> None:
    """Batches travel to SQLite as JSON: times and values must come back bit for bit."""
    rng = random.Random(11)
    values = [rng.uniform(-1e6, 1e6) for _ in range(2000)]
    values += [struct.unpack("d", struct.pack("Q", rng.getrandbits(62)))[0] for _ in range(2000)]
    values = [v for v in values if math.isfinite(v)]
    times = sorted(T0 - 3600 * rng.random() for _ in values)
    store = journal_store(path, clock)
    store.write_batch([Reading("d", "p", v, t) for v, t in zip(values, times, strict=True)]
                      + [Reading("d", "big", 2**62 + 1, T0 - 1), Reading("d", "on", True, T0 - 1)])
    store.compact()
    with sqlite3.connect(path) as conn:
        stored = conn.execute("SELECT ts, value FROM readings WHERE point = 'p' "
                              "ORDER BY ts").fetchall()
        others = dict(conn.execute("SELECT point, value FROM readings WHERE point != 'p'"))
    assert stored == list(zip(times, values, strict=True))
    assert others == {"big": float(2**62 + 1), "on": 1.0}
    store.close()


def test_readers_see_what_was_just_appended(path: Path, clock: Clock) -> None:
    store = journal_store(path, clock)
    at = T0 - 3000
    store.write_batch([Reading("meter", "power", float(i), at + i) for i in range(120)])
    hours = store.hours("meter", "power", at - 3600, at + 3600)
    assert sum(h.count for h in hours) == 120
    history = store.history("meter", "power", at, at + 120, every=60)
    assert sum(p.count for p in history.points) == 120
    store.write_batch([Reading("lift", "state", "moving", at), Reading("lift", "state", "idle",
                                                                         at + 5)])
    assert store.last_value("lift", "state") == (at + 5, "idle")
    store.write_batch([Reading("lift", "state", "fault", at + 1)])  # older: not kept
    assert store.last_value("lift", "state") == (at + 5, "idle")
    store.close()


def test_appends_do_not_wait_for_a_compaction(path: Path, clock: Clock) -> None:
    """The acknowledgement path writes the journal file only: a long transaction on the
    main file (a compaction, a retention pass) does not hold it up."""
    store = journal_store(path, clock)
    held, release = threading.Event(), threading.Event()

    def long_compaction() -> None:
        with store._write() as connection:
            connection.exec_driver_sql("DELETE FROM readings WHERE 0")  # take the write lock
            held.set()
            release.wait(10)

    worker = threading.Thread(target=long_compaction)
    worker.start()
    try:
        assert held.wait(10)
        began = time.monotonic()
        assert store.write_batch([Reading("d", "p", 1.0, T0 - 10)]) == 1
        assert time.monotonic() - began < 1.0, "the append waited for the main file's lock"
    finally:
        release.set()
        worker.join()
    store.close()


def test_close_files_the_journal(path: Path, clock: Clock) -> None:
    store = journal_store(path, clock)
    store.write_batch([Reading("d", "p", 1.0, T0 - 10)])
    store.close()
    assert journal_rows(path) == 0
    reopened = TelemetryStore(f"sqlite:///{path}", clock=clock)  # not in journal mode
    reopened.start()
    assert raw_count(reopened) == 1
    reopened.close()


def test_the_deliveries_record_commits_with_the_journal(path: Path, clock: Clock) -> None:
    """gateway.redelivery writes its record in the transaction that stores the readings."""
    store = journal_store(path, clock)
    log = DeliveryLog(store, "gw")
    log.start()
    message = RawMessage("zigbee2mqtt/meter_1", b'{"energy": 1}', 1, False, 0.0, mid=7)
    store.write_batch([Reading("meter-1", "energy", 1, T0 - 5)], also=log.writer([message]))
    store.engine.dispose()
    restarted = journal_store(path, clock)
    again = DeliveryLog(restarted, "gw")
    again.start()
    assert again.is_repeat(RawMessage("zigbee2mqtt/meter_1", b'{"energy": 1}', 1, False, 0.0,
                                      dup=True, mid=7))
    restarted.close()


def test_an_in_memory_store_ignores_journal_mode() -> None:
    memory = TelemetryStore("sqlite://", journal=True)
    assert not memory.journaled and memory.compact().top is None
    memory.close()
