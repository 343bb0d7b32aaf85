"""The embedded telemetry store: raw readings, incremental roll-ups, history and retention.

One :class:`TelemetryStore` per process, built from a URL at start-up (nothing at
import). It has a database of its own — ``var/telemetry.sqlite3`` by default,
PostgreSQL by URL — so telemetry writes never contend with the social database's
alarms and posts.

Writing a batch is one transaction: the raw rows go in first with
``ON CONFLICT DO NOTHING … RETURNING``, and only the rows actually inserted are
folded into the 1-minute and 1-hour roll-ups with an upsert that merges
aggregates. So roll-ups never need a rescan, and writing the same readings again
(a retried batch) changes nothing at all.

SQLite is opened in WAL mode with a busy timeout, so the dashboards read while the
gateway writes. Write transactions start with ``BEGIN IMMEDIATE`` — they wait
their turn for the lock (up to the busy timeout) instead of failing when a
deferred transaction would need to upgrade — while reads start a plain ``BEGIN``
and never block a writer. ``synchronous`` stays at SQLite's default (FULL): a
batch the processor acknowledged to the broker must survive a power cut.

The gateway opens its SQLite store in *journal mode* (``journal=True``): a batch is
only appended to a journal file beside the store, and filed into the tables above
in bulk every second or so — see gateway.telemetry.journal for why and how that
keeps every guarantee. Readers compact first, so they never see the difference.
PostgreSQL always writes a batch straight into its tables.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Table,
    cast,
    create_engine,
    delete,
    event,
    func,
    select,
    tuple_,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from devices.records import Reading
from gateway.telemetry import journal as journaling
from gateway.telemetry.errors import StoreError
from gateway.telemetry.retention import PruneReport, Retention
from gateway.telemetry.rollup import (
    HOUR,
    MINUTE,
    Aggregate,
    History,
    Plan,
    Point,
    aggregate,
    plan,
)
from gateway.telemetry.schema import (
    building_shares,
    create_schema,
    journal_metadata,
    last_values,
    readings,
    rollup_1h,
    rollup_1m,
)
from gateway.telemetry.writes import writer_for

log = logging.getLogger(__name__)

#: The environment variable the gateway reads the store's URL from.
URL_ENV = "PALIER_TELEMETRY_URL"
#: How many rows one retention transaction deletes at most.
PRUNE_CHUNK = 5000
_BUSY_TIMEOUT_MS = 10_000
#: Pages of the journal's write-ahead log before a commit checkpoints it itself.
_JOURNAL_AUTOCHECKPOINT = 16_384
ROLLUPS: tuple[tuple[Table, int], ...] = ((rollup_1m, MINUTE), (rollup_1h, HOUR))
#: Journal batches filed per compaction transaction at most (a batch is one commit of
#: the gateway: from one reading to a few thousand).
COMPACT_CHUNK = 100
#: Filed journal batches deleted per transaction at most (a few ms of the journal's lock).
FORGET_CHUNK = 20


def default_telemetry_url(var_dir: Path) -> str:
    """``var_dir/telemetry.sqlite3``, beside the social database (the folder is created)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(var_dir / 'telemetry.sqlite3').resolve()}"


@dataclass
class WriteStats:
    """Counters since start, for the status page: nothing refused goes unseen."""

    batches: int = 0
    stored: int = 0
    duplicates: int = 0
    #: journal mode: rows appended, and compactions run
    journaled: int = 0
    compactions: int = 0
    too_old: int = 0
    not_finite: int = 0


@dataclass(frozen=True, slots=True)
class HourRow:
    """One row of the 1-hour roll-up, as summaries read it."""

    bucket: int
    min: float
    max: float
    sum: float
    count: int
    last: float
    last_ts: float


class TelemetryStore:
    """Telemetry on one database URL; ``clock`` (epoch seconds) decides what is too old.

    Call :meth:`start` (or use it as a context manager) before anything else: it
    creates the tables. Every method is blocking and thread-safe; the gateway calls
    them through ``asyncio.to_thread``. ``journal=True`` asks for journal mode (SQLite
    files only; elsewhere it is ignored): the gateway then calls :meth:`compact`
    regularly (gateway.telemetry.retention.TelemetryMaintenance does).
    """

    def __init__(
        self,
        url: str | URL,
        *,
        retention: Retention | None = None,
        clock: Callable[[], float] = time.time,
        echo: bool = False,
        journal: bool = False,
    ) -> None:
        self.url = make_url(url)
        self.retention = retention or Retention()
        self._clock = clock
        self.stats = WriteStats()
        self._stats_lock = threading.Lock()
        #: one compaction (or prune) at a time in this process
        self._filing = threading.Lock()
        self._forgetting = threading.Lock()
        #: journal batches up to these sequence numbers are filed, and deleted (this process)
        self._filed = 0
        self._forgotten = 0
        options: dict[str, Any] = {}
        if self.url.get_backend_name() == "postgresql":
            options["pool_pre_ping"] = True
        where = self.url.database if self.url.get_backend_name() == "sqlite" else None
        self._journal_file = (journaling.journal_path(Path(where))
                              if journal and where and where != ":memory:" else None)
        if self._journal_file is not None:
            options["connect_args"] = {"uri": True}  # to attach the journal read-only
        self.engine: Engine = create_engine(self.url, echo=echo, **options)
        self._journal: Engine | None = None
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine, self._journal_file)
        if self._journal_file is not None:
            self._journal = create_engine(f"sqlite:///{self._journal_file}", echo=echo)
            _configure_sqlite(self._journal, append_only=True)
        self._writer = writer_for(self.engine, [table for table, _ in ROLLUPS])

    @classmethod
    def open(cls, url: str | None, var_dir: Path, **options: Any) -> TelemetryStore:
        """The store at ``url``, or the SQLite file under ``var_dir`` when it is None."""
        return cls(url or default_telemetry_url(var_dir), **options)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def journaled(self) -> bool:
        """True in journal mode: batches are appended, then filed by :meth:`compact`."""
        return self._journal is not None

    @property
    def ack_engine(self) -> Engine:
        """The database a batch is committed to before it is acknowledged (the journal's
        in journal mode): ``write_batch(also=...)`` runs there."""
        return self._journal if self._journal is not None else self.engine

    def now(self) -> float:
        """The store's clock: what "too old" and "finished" are measured against."""
        return self._clock()

    def __repr__(self) -> str:
        return f"TelemetryStore({self._where()!r})"

    def _where(self) -> str:
        return self.url.render_as_string(hide_password=True)

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> None:
        """Create the tables if missing; idempotent, safe for workers starting together."""
        try:
            if self._journal is not None:
                with self._write(self._journal) as connection:
                    journal_metadata.create_all(connection, checkfirst=True)
            with self._write() as connection:
                create_schema(connection)
        except RuntimeError as exc:
            raise StoreError(f"cannot use telemetry database {self._where()}: {exc}") from exc
        log.info("telemetry store at %s", self._where())

    def close(self) -> None:
        """File what the journal still holds (best effort: it stays for the next start)."""
        if self._journal is not None:
            try:
                while self.compact().top is not None:
                    pass
            except StoreError as exc:
                log.warning("telemetry: the journal could not be filed at close (%s); "
                            "it will be at the next start", exc)
            self._journal.dispose()
        self.engine.dispose()

    def __enter__(self) -> TelemetryStore:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self, engine: Engine | None = None) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite); SQLAlchemy errors translated."""
        try:
            with (engine or self.engine).connect() as connection:
                connection.execution_options(palier_write=True)
                with connection.begin():
                    yield connection
        except SQLAlchemyError as exc:
            raise StoreError(f"telemetry database {self._where()}: "
                             f"{getattr(exc, 'orig', None) or exc}") from exc

    @contextmanager
    def _read(self, engine: Engine | None = None) -> Iterator[Connection]:
        try:
            with (engine or self.engine).connect() as connection, connection.begin():
                yield connection
        except SQLAlchemyError as exc:
            raise StoreError(f"telemetry database {self._where()}: "
                             f"{getattr(exc, 'orig', None) or exc}") from exc

    # -- writing ------------------------------------------------------------------

    def write_batch(self, batch: Sequence[Reading], *,
                    also: Callable[[Connection], None] | None = None) -> int:
        """Store ``batch`` in one transaction; the number of readings that were new.

        ``also`` runs in that same transaction (the intake's record of the messages the
        batch came from, see gateway.redelivery), even when the batch has no readings.

        Numbers and booleans (as 1/0) become series; text points only update
        ``last_values``. A reading whose (device, point, time) is already stored is
        skipped — the first value written wins — and counted nowhere, so a retried
        batch is harmless. Readings older than the raw retention are refused
        (``stats.too_old``): past that horizon a repeat could no longer be recognised.
        """
        horizon = self._clock() - self.retention.raw
        if self._journal is not None:
            return self._append(batch, horizon, also)
        series: dict[tuple[str, str, float], float] = {}
        texts: dict[tuple[str, str], tuple[float, str]] = {}
        too_old = not_finite = 0
        for reading in batch:
            if reading.at < horizon:
                too_old += 1
                continue
            if isinstance(reading.value, str):
                key = (reading.device_id, reading.point)
                seen = texts.get(key)
                if seen is None or reading.at > seen[0]:
                    texts[key] = (reading.at, reading.value)
                continue
            value = float(reading.value)
            if not math.isfinite(value):
                not_finite += 1
                continue
            series.setdefault((reading.device_id, reading.point, reading.at), value)
        if too_old or not_finite:
            log.warning("telemetry: refused %d readings older than the raw retention and %d "
                        "not finite", too_old, not_finite)
            with self._stats_lock:
                self.stats.too_old += too_old
                self.stats.not_finite += not_finite
        if not series and not texts and also is None:
            return 0
        # Sorted keys: two workers upserting the same buckets lock them in the same
        # order, so PostgreSQL never sees a deadlock between them.
        raw_rows = [(d, p, ts, v) for (d, p, ts), v in sorted(series.items())]
        with self._write() as connection:
            inserted = self._writer.insert_raw(connection, raw_rows) if raw_rows else []
            for table, width in ROLLUPS:
                buckets = aggregate(inserted, width)
                if buckets:
                    self._writer.upsert_rollup(connection, table, _rollup_rows(buckets))
            changed = 0
            if texts:
                changed = self._writer.upsert_text(
                    connection, [(d, p, ts, v) for (d, p), (ts, v) in sorted(texts.items())])
            if also is not None:
                also(connection)
        stored = len(inserted) + changed
        with self._stats_lock:
            self.stats.batches += 1
            self.stats.stored += stored
            self.stats.duplicates += len(series) - len(inserted)
        return stored

    def _append(self, batch: Sequence[Reading], horizon: float,
                also: Callable[[Connection], None] | None) -> int:
        """Journal mode: the batch appended to the journal, in one transaction; the number
        of readings appended. Which were new (the first value of a key wins, within the
        batch too) is settled when they are filed, so this is one pass over the batch."""
        rows: list[journaling.JournalRow] = []
        add = rows.append
        refused = 0
        isfinite = math.isfinite
        for reading in batch:
            value = reading.value
            if reading.at < horizon:
                refused += 1
            elif isinstance(value, str):
                add((reading.device_id, reading.point, reading.at, None, value))
            elif isfinite(value):
                add((reading.device_id, reading.point, reading.at, value, None))
            else:
                refused += 1
        if refused:
            too_old = sum(1 for r in batch if r.at < horizon)
            log.warning("telemetry: refused %d readings older than the raw retention and %d "
                        "not finite", too_old, refused - too_old)
            with self._stats_lock:
                self.stats.too_old += too_old
                self.stats.not_finite += refused - too_old
        if not rows and also is None:
            return 0
        with self._write(self._journal) as connection:
            journaling.append(connection, rows)
            if also is not None:
                also(connection)
        with self._stats_lock:
            self.stats.batches += 1
            self.stats.journaled += len(rows)
        return len(rows)

    def compact(self, limit: int = COMPACT_CHUNK, *, forget: bool = True
                ) -> journaling.Compaction:
        """File up to ``limit`` journal batches into the tables (one transaction); what was
        filed. Then forget them (:meth:`forget_filed`), unless ``forget`` is False — the
        maintenance task files at a low priority and forgets at the normal one, since
        forgetting takes the journal's lock, which the acknowledgements wait for. Nothing
        to do outside journal mode, or on an empty journal."""
        if self._journal is None:
            return journaling.Compaction(None)
        with self._filing:
            with self._write() as connection:
                done = journaling.compact(connection, limit,
                                          [(table.name, width) for table, width in ROLLUPS],
                                          after=self._filed)
            if done.top is not None:
                self._filed = done.top
                with self._stats_lock:
                    self.stats.compactions += 1
                    self.stats.stored += done.inserted + done.texts
                    self.stats.duplicates += done.duplicates
        if forget:
            self.forget_filed()
        return done

    def forget_filed(self) -> None:
        """Delete the journal batches already filed, :data:`FORGET_CHUNK` at a time: each
        delete is a short transaction, so an append never waits long for the lock."""
        if self._journal is None:
            return
        with self._forgetting:
            if self._forgotten >= self._filed:
                return
            while self._forgotten < self._filed:
                upto = min(self._filed, self._forgotten + FORGET_CHUNK)
                with self._write(self._journal) as connection:
                    journaling.forget(connection, upto)
                self._forgotten = upto
            try:
                with self._journal.connect() as connection:
                    # without waiting for anyone: appends go on meanwhile
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except SQLAlchemyError as exc:
                log.warning("telemetry: checkpointing the journal failed: %s", exc)

    def journal_pending(self) -> bool:
        """Whether readings wait in the journal (always False outside journal mode)."""
        if self._journal is None:
            return False
        with self._read(self._journal) as connection:
            return bool(journaling.pending(connection, self._filed))

    def _settle(self) -> None:
        """Before a read: file what the journal holds, so the read sees every reading."""
        while self.journal_pending():
            if self.compact().top is None:
                break

    # -- reading ------------------------------------------------------------------

    def history(self, device_id: str, point: str, start: float, end: float,
                every: float | None = None) -> History:
        """The series of ``point`` over ``[start, end)`` in buckets of about ``every`` seconds.

        :func:`gateway.telemetry.rollup.plan` picks the source and the bucket width
        (coarsening to stay within 2000 points); raises
        :class:`~gateway.telemetry.errors.QueryError` for a range or interval that
        makes no sense. Buckets without readings are absent, not zero.
        """
        chosen = plan(start, end, every, now=self._clock(), retention=self.retention)
        self._settle()
        with self._read() as connection:
            rows = connection.execute(self._history_query(device_id, point, chosen)).all()
        points = [Point(ts=int(b) * chosen.every, min=mn, max=mx, mean=total / count,
                        last=last, count=int(count))
                  for b, mn, mx, total, count, last in rows]
        return History(device_id, point, chosen, points)

    def _history_query(self, device_id: str, point: str, chosen: Plan) -> Any:
        every = chosen.every
        if chosen.source == "raw":
            t = readings
            b: ColumnElement[int] = (
                cast(func.floor(t.c.ts / every), BigInteger) if self.dialect == "postgresql"
                else cast(t.c.ts / every, BigInteger))  # SQLite's CAST truncates; ts >= 0
            mn = mx = total = t.c.value
            count: ColumnElement[int] = cast(1, Integer)  # sum(bigint) is numeric on PG
            last, last_ts, when = t.c.value, t.c.ts, t.c.ts
        else:
            t = rollup_1m if chosen.source == "1m" else rollup_1h
            b = t.c.bucket // every
            mn, mx, total, count = t.c.min, t.c.max, t.c.sum, t.c.count
            last, last_ts, when = t.c.last, t.c.last_ts, t.c.bucket
        # Each bucket's last value is that of its latest reading: a window picks it
        # while the same scan groups the rest.
        inner = (
            select(b.label("b"), mn.label("mn"), mx.label("mx"), total.label("total"),
                   count.label("n"),
                   func.first_value(last).over(partition_by=b, order_by=last_ts.desc())
                   .label("last"))
            .where(t.c.device_id == device_id, t.c.point == point,
                   when >= chosen.start, when < chosen.end)
            .subquery()
        )
        return (
            select(inner.c.b, func.min(inner.c.mn), func.max(inner.c.mx),
                   func.sum(inner.c.total), func.sum(inner.c.n), func.max(inner.c.last))
            .group_by(inner.c.b)
            .order_by(inner.c.b)
        )

    def last_value(self, device_id: str, point: str) -> tuple[float, str] | None:
        """The last text value of a text point and its time, if one was ever written."""
        self._settle()
        with self._read() as connection:
            row = connection.execute(
                select(last_values.c.ts, last_values.c.value).where(
                    last_values.c.device_id == device_id, last_values.c.point == point)
            ).first()
        return (row[0], row[1]) if row else None

    def hours(self, device_id: str, point: str, start: float, end: float) -> list[HourRow]:
        """The 1-hour roll-up of ``point`` for the buckets starting in ``[start, end)``."""
        t = rollup_1h
        self._settle()
        with self._read() as connection:
            rows = connection.execute(
                select(t.c.bucket, t.c.min, t.c.max, t.c.sum, t.c.count, t.c.last, t.c.last_ts)
                .where(t.c.device_id == device_id, t.c.point == point,
                       t.c.bucket >= math.ceil(start), t.c.bucket < math.ceil(end))
                .order_by(t.c.bucket)
            ).all()
        return [HourRow(*row) for row in rows]

    def hour_before(self, device_id: str, point: str, before: float) -> HourRow | None:
        """The latest 1-hour bucket starting before ``before``: a counter's baseline."""
        t = rollup_1h
        self._settle()
        with self._read() as connection:
            row = connection.execute(
                select(t.c.bucket, t.c.min, t.c.max, t.c.sum, t.c.count, t.c.last, t.c.last_ts)
                .where(t.c.device_id == device_id, t.c.point == point,
                       t.c.bucket < math.ceil(before))
                .order_by(t.c.bucket.desc()).limit(1)
            ).first()
        return HourRow(*row) if row else None

    # -- what managers share --------------------------------------------------------

    def shares(self, building_id: str) -> frozenset[str]:
        """The metrics a building's managers chose to show its members."""
        with self._read() as connection:
            return frozenset(connection.scalars(
                select(building_shares.c.metric)
                .where(building_shares.c.building_id == building_id)))

    def set_shares(self, building_id: str, metrics: Iterable[str]) -> frozenset[str]:
        """Replace the building's shared metrics with ``metrics``; returns them."""
        chosen = frozenset(metrics)
        with self._write() as connection:
            connection.execute(delete(building_shares)
                               .where(building_shares.c.building_id == building_id))
            if chosen:
                connection.execute(building_shares.insert(), [
                    {"building_id": building_id, "metric": m} for m in sorted(chosen)])
        return chosen

    # -- retention ------------------------------------------------------------------

    def prune(self, now: float | None = None, *, chunk: int = PRUNE_CHUNK, pause: float = 0.01,
              should_stop: Callable[[], bool] = lambda: False) -> PruneReport:
        """Delete what is past retention, ``chunk`` rows per transaction.

        Each chunk is its own short transaction and a ``pause`` follows it, so a
        writer waiting on SQLite's busy timeout gets the lock between two chunks
        rather than behind the whole deletion. ``should_stop`` is asked between
        chunks (the maintenance task's shutdown).
        """
        if chunk < 1:
            raise ValueError(f"chunk must be at least 1, got {chunk}")
        now = self._clock() if now is None else now
        report = PruneReport(now=now)
        began = time.monotonic()
        for table, column, cutoff in (
            (readings, "ts", now - self.retention.raw),
            (rollup_1m, "bucket", now - self.retention.minute),
            (rollup_1h, "bucket", now - self.retention.hour),
        ):
            report.deleted[table.name] = 0
            keys = tuple(table.primary_key.columns)
            oldest = (select(*keys).where(table.c[column] < cutoff)
                      .order_by(table.c[column]).limit(chunk))
            while True:
                if should_stop():
                    report.stopped = True
                    report.seconds = time.monotonic() - began
                    return report
                with self._write() as connection:
                    gone = connection.execute(
                        delete(table).where(tuple_(*keys).in_(oldest))).rowcount
                report.chunks += 1
                report.deleted[table.name] += gone
                if gone < chunk:
                    break
                time.sleep(pause)
        report.seconds = time.monotonic() - began
        return report


def _rollup_rows(buckets: dict[tuple[str, str, int], Aggregate]) -> list[tuple[Any, ...]]:
    """Roll-up rows in ``ROLLUP_COLUMNS`` order, sorted by key."""
    return [(d, p, b, a.min, a.max, a.sum, a.count, a.last, a.last_ts)
            for (d, p, b), a in sorted(buckets.items())]


def _configure_sqlite(engine: Engine, journal: Path | None = None, *,
                      append_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            if append_only:
                # The journal: written at its end, read once in bulk — a small page cache
                # does; and the filer checkpoints it, so a commit that acknowledges
                # messages does not (the automatic checkpoint is only a safety net).
                cursor.execute("PRAGMA cache_size=-512")
                cursor.execute(f"PRAGMA wal_autocheckpoint={_JOURNAL_AUTOCHECKPOINT}")
            if journal is not None:
                # Read-only: a write transaction here never locks the journal, so
                # appends (the acknowledgement path) never wait for a compaction.
                cursor.execute(f"ATTACH DATABASE ? AS {journaling.SCHEMA}",
                               (journaling.attach_uri(journal),))
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get("palier_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")
