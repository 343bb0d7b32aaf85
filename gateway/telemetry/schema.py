"""The telemetry database's tables, created at start-up rather than migrated.

The store has a database of its own and a handful of tables whose shape is
simple and stable, so it does without Alembic: :func:`create_schema` creates
what is missing (running it again changes nothing) and records
:data:`SCHEMA_VERSION` in ``telemetry_meta``. A later version that must change
a table bumps the number and does its own small upgrade step there; a database
written by a *newer* Palier is refused rather than misread.

Times are epoch seconds: ``ts`` as a double (the gateway's receive time, exact
as it was stamped), roll-up buckets as integers (the bucket's start). Values are
doubles — ``true``/``false`` as 1/0 — so one column type serves every series.
Text points are not series; only their last value is kept (``last_values``).

On SQLite the series tables are ``WITHOUT ROWID``: rows are stored in primary key
order, so a device's history is one contiguous range read. Each series table has
a second index on time alone, which retention needs to find old rows of every
device without scanning the whole table.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
    text,
)

#: Bumped when a table changes shape; see the module docstring.
SCHEMA_VERSION = 1
#: Any constant: the PostgreSQL advisory lock under which workers create tables in turn.
_SCHEMA_LOCK = 0x70616C7465  # "palte"

#: Unbounded text: a long id from the configuration must never make a batch fail forever.
DEVICE_ID = String()
POINT = String()

metadata = MetaData()

meta = Table(
    "telemetry_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)

readings = Table(
    "readings", metadata,
    Column("device_id", DEVICE_ID, primary_key=True),
    Column("point", POINT, primary_key=True),
    Column("ts", Float(precision=53), primary_key=True),
    Column("value", Float(precision=53), nullable=False),
    Index("readings_ts", "ts"),
    sqlite_with_rowid=False,
)


def _rollup(name: str) -> Table:
    return Table(
        name, metadata,
        Column("device_id", DEVICE_ID, primary_key=True),
        Column("point", POINT, primary_key=True),
        Column("bucket", BigInteger, primary_key=True),
        Column("min", Float(precision=53), nullable=False),
        Column("max", Float(precision=53), nullable=False),
        Column("sum", Float(precision=53), nullable=False),
        Column("count", Integer, nullable=False),
        Column("last", Float(precision=53), nullable=False),
        Column("last_ts", Float(precision=53), nullable=False),
        Index(f"{name}_bucket", "bucket"),
        sqlite_with_rowid=False,
    )


rollup_1m = _rollup("rollup_1m")
rollup_1h = _rollup("rollup_1h")

last_values = Table(
    "last_values", metadata,
    Column("device_id", DEVICE_ID, primary_key=True),
    Column("point", POINT, primary_key=True),
    Column("ts", Float(precision=53), nullable=False),
    Column("value", Text, nullable=False),
)

#: The journal's own tables live in a file of their own (see TelemetryStore, ``journal``).
journal_metadata = MetaData()

#: Batches of readings stored (and so acknowledged) but not yet filed into ``readings``,
#: the roll-ups and ``last_values``: one row a batch, its readings as a JSON array of
#: ``[device_id, point, ts, value, text]``, appended in order, filed in bulk by ``compact``.
journal_batches = Table(
    "journal_batches", journal_metadata,
    Column("seq", Integer, primary_key=True),
    Column("rows", Text, nullable=False),
    sqlite_autoincrement=True,  # a sequence number is never reused, even once compacted
)

#: What a building's managers chose to show every member of the building.
building_shares = Table(
    "building_shares", metadata,
    Column("building_id", String(), primary_key=True),
    Column("metric", String(32), primary_key=True),
)


def create_schema(connection: Connection) -> None:
    """Create missing tables and record the schema version, inside the caller's transaction.

    Several gateway workers may start together on one PostgreSQL: they take turns on
    an advisory lock, so only the first creates anything. Raises ``RuntimeError`` for
    a database whose recorded version is newer than this code.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
    metadata.create_all(connection, checkfirst=True)
    found = connection.scalar(select(meta.c.value).where(meta.c.key == "schema_version"))
    if found is None:
        connection.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
    elif int(found) > SCHEMA_VERSION:
        raise RuntimeError(
            f"its schema is version {found}, written by a newer Palier; this one knows "
            f"version {SCHEMA_VERSION}")
