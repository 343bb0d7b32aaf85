"""The social database: an engine, sessions and migrations built from one URL.

Nothing is created at import: the gateway builds one :class:`Database` at start-up
and hands it to whatever needs sessions (the alarm book, the HTTP API).

SQLite is the embedded default. It is opened in WAL mode with a busy timeout and
foreign keys on, and every transaction that may write starts with ``BEGIN IMMEDIATE``:
a deferred transaction that reads and then writes fails at once with "database is
locked" when another writer committed in between (the busy timeout cannot help there),
whereas an immediate one waits its turn. Read-only sessions (``session(read_only=True)``,
what the API's GET requests use) begin deferred instead, so readers never queue behind
the write lock — WAL lets them read while one writer writes — and run with
``PRAGMA query_only`` so that a read-only session that tries to write fails at once,
loudly, instead of deadlocking under load. PostgreSQL needs none of this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from social.errors import DatabaseError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: Any constants: PostgreSQL advisory locks that serialise concurrent start-ups.
_MIGRATION_LOCK = 0x70616C6965  # "palie"
_SETUP_LOCK = 0x70616C6973  # "palis"


def default_sqlite_url(var_dir: Path) -> str:
    """The embedded database's URL, ``var_dir/palier.sqlite3`` (the folder is created)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(var_dir / 'palier.sqlite3').resolve()}"


class Database:
    """An engine and a session factory for one database URL."""

    def __init__(self, url: str | URL, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.engine: Engine = create_engine(self.url, echo=echo, **_engine_options(self.url))
        if self.url.get_backend_name() == "sqlite":
            _configure_sqlite(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(self.engine.execution_options(palier_read_only=True),
                                     expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[Session]:
        """A session whose work is rolled back unless the caller commits; closed on exit.

        ``read_only`` sessions never take SQLite's write lock (and may not write).
        """
        with (self._readers if read_only else self._sessions)() as session:
            yield session

    def alembic_config(self) -> Config:
        """An Alembic configuration pointing at the bundled migrations and this URL."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option(
            "sqlalchemy.url", self.url.render_as_string(hide_password=False).replace("%", "%%")
        )
        return config

    def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to ``revision``; raises :class:`DatabaseError` with the URL.

        Several workers may start at once against one PostgreSQL: they take turns on
        an advisory lock, and the later ones find the schema already at head.
        """
        self._run_alembic(command.upgrade, revision)

    def downgrade(self, revision: str = "base") -> None:
        self._run_alembic(command.downgrade, revision)

    def _run_alembic(self, alembic_command: Callable[[Config, str], None], revision: str) -> None:
        config = self.alembic_config()
        try:
            with self.engine.connect() as connection:
                # SQLite rebuilds a table to alter it (drop, re-create): with foreign keys
                # enforced, dropping ``members`` would cascade into every dependent row.
                # The pragma only takes effect outside a transaction, hence the raw call.
                sqlite = self.dialect == "sqlite"
                if sqlite:
                    connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
                try:
                    with connection.begin():
                        if self.dialect == "postgresql":
                            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                               {"key": _MIGRATION_LOCK})
                        config.attributes["connection"] = connection
                        alembic_command(config, revision)
                finally:
                    if sqlite:
                        connection.connection.driver_connection.execute(
                            "PRAGMA foreign_keys=ON")
        except SQLAlchemyError as exc:
            raise DatabaseError(
                f"cannot migrate {self.url.render_as_string(hide_password=True)}: "
                f"{getattr(exc, 'orig', None) or exc}"
            ) from exc

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"


def lock_for_setup(session: Session) -> None:
    """Make concurrent start-up writers (place sync, member seeding) take turns.

    Two gateway workers starting together against one PostgreSQL would otherwise
    both insert the same new places and one would fail on the primary key. The
    lock is held until the session's transaction ends. SQLite needs nothing: its
    ``BEGIN IMMEDIATE`` already lets one writer in at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SETUP_LOCK})


def _engine_options(url: URL) -> dict[str, Any]:
    if url.get_backend_name() == "postgresql":
        return {"pool_pre_ping": True}
    return {}


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin,
        # so SAVEPOINTs work and BEGIN can be IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get("palier_read_only"):
            connection.exec_driver_sql("PRAGMA query_only=ON")
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("PRAGMA query_only=OFF")
            connection.exec_driver_sql("BEGIN IMMEDIATE")
