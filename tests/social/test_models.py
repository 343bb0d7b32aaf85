"""Timestamps are timezone-aware UTC on every backend."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from social.db import Database
from social.models import Member

PARIS_SUMMER = timezone(timedelta(hours=2))


def test_datetimes_come_back_as_the_same_instant_in_utc(database: Database) -> None:
    local = datetime(2026, 7, 1, 12, 30, 15, 123456, tzinfo=PARIS_SUMMER)
    with database.session() as session:
        session.add(Member(username="a", display_name="A", password_hash="x", language="fr",
                           created_at=local))
        session.commit()
    with database.session() as session:
        member = session.scalars(select(Member)).one()

    assert member.created_at == local
    assert member.created_at.utcoffset() == timedelta(0)
    assert member.created_at.hour == 10


def test_a_naive_datetime_is_refused(database: Database) -> None:
    with database.session() as session:
        session.add(Member(username="a", display_name="A", password_hash="x", language="fr",
                           created_at=datetime(2026, 7, 1, 12, 30)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()
