"""Fixtures for the telemetry store: one real database per backend, and a clock tests move.

``store`` runs a test once on a SQLite file and once on PostgreSQL; its clock
starts at :data:`T0` and only moves when the test says so.

On PostgreSQL each test module gets a fresh database (as ``fresh_postgres_url``
makes them) and each test starts with the telemetry tables dropped, so the store
creates them again: as isolated as a database per test, without dropping ~80
databases at the end of the session (about a second each).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine

from gateway.telemetry.schema import metadata
from gateway.telemetry.store import TelemetryStore

if TYPE_CHECKING:
    from tests.conftest import PostgresServer


#: Tuesday 10 March 2026, 00:00 UTC (01:00 in Paris): the tests' "now".
T0 = datetime(2026, 3, 10, tzinfo=UTC).timestamp()


class Clock:
    """A clock that stays where the test puts it."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def module_postgres_url(postgres_server: PostgresServer) -> str:
    url: str = postgres_server.fresh_database()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'telemetry.sqlite3'}"
    url: str = request.getfixturevalue("module_postgres_url")
    engine = create_engine(url)
    try:
        metadata.drop_all(engine)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def store(store_url: str, clock: Clock) -> Iterator[TelemetryStore]:
    with TelemetryStore(store_url, clock=clock) as opened:
        yield opened
