"""Helpers shared by the social tests (plain functions, not fixtures)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from social.db import Database


def wait_until_blocked(db: Database, worker: threading.Thread) -> None:
    """Return once ``worker`` waits for the first transaction to end.

    PostgreSQL shows the wait (on a row lock or a UNIQUE index); SQLite cannot, so
    there we only make sure the worker has had time to get stuck in ``BEGIN IMMEDIATE``.
    """
    if db.dialect == "sqlite":
        time.sleep(0.3)
        assert worker.is_alive(), "the second writer should wait for the first to commit"
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        assert worker.is_alive(), "the second writer should wait for the first to commit"
        with db.engine.connect() as conn:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )).scalar()
        if waiting:
            return
        time.sleep(0.02)
    pytest.fail("the second writer never blocked on the first")
