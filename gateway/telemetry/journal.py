"""The SQLite journal: what a batch must make durable before its PUBACK, and nothing more.

Filing a reading where it belongs is expensive on SQLite: the series and roll-up
tables are ordered by (device, point, time), so a batch from a thousand devices
dirties a thousand pages of each, and the commit writes them all (measured: 21 µs
of CPU a reading for raw rows and both roll-ups). So, in journal mode, the
gateway's ``write_batch`` only appends the batch — one row, its readings as a JSON
array — to ``journal_batches``, in a database file of its own beside the store's;
that commit is what the PUBACK waits for, and it costs about a microsecond a reading,
mostly JSON encoding, with one statement (one release of the GIL) a batch. About
every second :func:`compact` files the journal in bulk, in one transaction on the
main file: the batches expanded (``json_each``), duplicates dropped, raw rows
inserted in key order, roll-ups merged, text points' last values kept. With many
readings of a series in one pass, each page is written once for all of them, and the
work runs inside SQLite, off the event loop, in a thread of low priority.

Nothing is lost or counted twice:

* the journal commit is as durable as the old batch commit (WAL, ``synchronous``
  FULL), and the deliveries record (gateway.redelivery) is written in it too;
* compaction reads the journal through a read-only attachment, so appends never
  wait for it; it deletes what it filed (by sequence number) only after the main
  file committed. A crash between the two leaves batches that the next compaction
  finds already in ``readings`` and skips — the raw key (device, point, time) is
  what makes filing idempotent, exactly as a retried batch always was;
* readers see a settled store: history and summaries compact first (see
  ``TelemetryStore._settle``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import orjson
from sqlalchemy import Connection

#: The name the main file's connections attach the journal under.
SCHEMA = "journal"

#: (device_id, point, ts, value, text): a number in ``value`` or a text in ``text``.
JournalRow = tuple[str, str, float, float | None, str | None]

APPEND = "INSERT INTO journal_batches (rows) VALUES (?)"
#: A batch's readings from its JSON text, in order (``n``), with the batch's ``seq``.
_EXPAND = ("SELECT b.seq AS seq, e.key AS n, {0} AS device_id, {1} AS point, {2} AS ts, "
           "{3} AS value, {4} AS text "
           f"FROM {SCHEMA}.journal_batches AS b, json_each(b.rows) AS e "
           "WHERE b.seq > ? AND b.seq <= ?")
if sqlite3.sqlite_version_info >= (3, 38):
    EXPAND = _EXPAND.format(*(f"e.value ->> {i}" for i in range(5)))
else:
    EXPAND = _EXPAND.format(*(f"json_extract(e.value, '$[{i}]')" for i in range(5)))
#: Readings in one batch at most: orders (seq, n) as one number.
_PER_BATCH = 1 << 24


def journal_path(main: Path) -> Path:
    """``telemetry.sqlite3`` → ``telemetry.journal.sqlite3``, in the same folder."""
    return main.with_name(f"{main.stem}.journal{main.suffix or '.sqlite3'}")


def attach_uri(path: Path) -> str:
    """The read-only URI the main file's connections attach the journal with."""
    return f"file:{quote(str(path.resolve()))}?mode=ro"


def append(connection: Connection, rows: Sequence[JournalRow]) -> None:
    """Append a batch of readings, as one JSON row, in the caller's transaction (on the
    journal file). SQLite reads every double back exactly (tests.telemetry.test_journal
    checks it); an integer past 64 bits, which orjson refuses, goes through ``json``."""
    if not rows:
        return
    try:
        text = orjson.dumps(rows)
    except orjson.JSONEncodeError:
        text = json.dumps(rows).encode()
    connection.exec_driver_sql(APPEND, (text.decode(),))


def _bucket(width: int) -> str:
    """The start of the ``width``-second bucket of ``ts``: floor(ts / width) * width,
    exact like Python's ``ts // width`` (a quotient rounded up to an integer is undone)."""
    k = f"CAST(ts / {width} AS INTEGER)"
    return f"({k} - ({k} * {width} > ts)) * {width}"


def _rollup_merge(table: str, width: int) -> str:
    """Fold the fresh rows into ``table``, merged as gateway.telemetry.writes does."""
    return f"""
        INSERT INTO main.{table} (device_id, point, bucket, min, max, sum, count, last, last_ts)
        SELECT a.device_id, a.point, a.bucket, a.mn, a.mx, a.total, a.n, f.value, a.last_ts
        FROM (SELECT device_id, point, {_bucket(width)} AS bucket, min(value) AS mn,
                     max(value) AS mx, sum(value) AS total, count(*) AS n, max(ts) AS last_ts
              FROM temp.palier_fresh GROUP BY 1, 2, 3) AS a
        JOIN temp.palier_fresh AS f
          ON f.device_id = a.device_id AND f.point = a.point AND f.ts = a.last_ts
        WHERE true
        ORDER BY 1, 2, 3
        ON CONFLICT (device_id, point, bucket) DO UPDATE SET
          min = CASE WHEN excluded.min < {table}.min THEN excluded.min ELSE {table}.min END,
          max = CASE WHEN excluded.max > {table}.max THEN excluded.max ELSE {table}.max END,
          sum = {table}.sum + excluded.sum,
          count = {table}.count + excluded.count,
          last = CASE WHEN excluded.last_ts >= {table}.last_ts
                      THEN excluded.last ELSE {table}.last END,
          last_ts = CASE WHEN excluded.last_ts >= {table}.last_ts
                         THEN excluded.last_ts ELSE {table}.last_ts END
    """


@dataclass(frozen=True, slots=True)
class Compaction:
    """What one compaction filed: journal rows up to ``top`` (None: the journal was empty)."""

    top: int | None
    rows: int = 0
    inserted: int = 0
    duplicates: int = 0
    texts: int = 0


def compact(main: Connection, limit: int, rollups: Sequence[tuple[str, int]], *,
            after: int = 0) -> Compaction:
    """File up to ``limit`` journal batches past ``after`` (batches this process filed
    already but has not deleted yet), oldest first, inside the caller's transaction on the
    main file (the journal attached as ``journal``). The caller deletes the batches up to
    ``Compaction.top`` from the journal once this transaction has committed."""
    run = main.exec_driver_sql
    top = run(f"SELECT max(seq) FROM (SELECT seq FROM {SCHEMA}.journal_batches "
              "WHERE seq > ? ORDER BY seq LIMIT ?)", (after, limit)).scalar()
    if top is None:
        return Compaction(None)
    run("DROP TABLE IF EXISTS temp.palier_batch")
    run("DROP TABLE IF EXISTS temp.palier_fresh")
    run(f"CREATE TEMP TABLE palier_batch AS {EXPAND}", (after, top))
    numbers = run("SELECT count(*) FROM temp.palier_batch WHERE text IS NULL").scalar() or 0
    texts = run("SELECT count(*) FROM temp.palier_batch WHERE text IS NOT NULL").scalar() or 0
    # The first value written for a (device, point, time) wins, within the journal (the
    # smallest batch and place in it picks that row's value) and against what is filed.
    run(f"""
        CREATE TEMP TABLE palier_fresh AS
        SELECT device_id, point, ts, value FROM (
            SELECT device_id, point, ts, value, min(seq * {_PER_BATCH} + n)
            FROM temp.palier_batch WHERE text IS NULL
            GROUP BY device_id, point, ts) AS j
        WHERE NOT EXISTS (SELECT 1 FROM main.readings AS r WHERE r.device_id = j.device_id
                          AND r.point = j.point AND r.ts = j.ts)
    """)
    inserted = run("SELECT count(*) FROM temp.palier_fresh").scalar() or 0
    if inserted:
        run("CREATE INDEX temp.palier_fresh_key ON palier_fresh (device_id, point, ts)")
        run("INSERT INTO main.readings (device_id, point, ts, value) "
            "SELECT device_id, point, ts, value FROM temp.palier_fresh "
            "ORDER BY device_id, point, ts")
        for table, width in rollups:
            run(_rollup_merge(table, width))
    if texts:
        run("""
            INSERT INTO main.last_values (device_id, point, ts, value)
            SELECT device_id, point, max(ts), text FROM temp.palier_batch
            WHERE text IS NOT NULL GROUP BY device_id, point
            ORDER BY 1, 2
            ON CONFLICT (device_id, point) DO UPDATE SET ts = excluded.ts, value = excluded.value
            WHERE excluded.ts > last_values.ts
        """)
    run("DROP TABLE temp.palier_fresh")
    run("DROP TABLE temp.palier_batch")
    return Compaction(int(top), numbers + texts, inserted, numbers - inserted, texts)


def forget(journal: Connection, top: int) -> None:
    """Delete the filed batches, in the caller's transaction on the journal file."""
    journal.exec_driver_sql("DELETE FROM journal_batches WHERE seq <= ?", (top,))


def pending(journal: Connection, after: int = 0) -> bool:
    """Whether anything past ``after`` waits in the journal (one row at most is read)."""
    return journal.exec_driver_sql("SELECT 1 FROM journal_batches WHERE seq > ? LIMIT 1",
                                   (after,)).first() is not None
