"""Fixtures for the telemetry store: one real database per backend, and a clock tests move.

``store`` runs a test once on a SQLite file and once on a fresh PostgreSQL
database; its clock starts at :data:`T0` and only moves when the test says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.telemetry.store import TelemetryStore

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


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'telemetry.sqlite3'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


@pytest.fixture
def store(store_url: str, clock: Clock) -> Iterator[TelemetryStore]:
    with TelemetryStore(store_url, clock=clock) as opened:
        yield opened
