"""Helpers for the posts and interactions tests (plain functions, not fixtures)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import event

from social.accounts import issue_token
from social.db import Database
from social.models import Member, Membership, utcnow
from social.post_kinds import example_data, initial_data, validate_data
from social.posts import create_post


def bearer(database: Database, member_id: int) -> dict[str, str]:
    """A bearer header for ``member_id`` (issued directly: argon2 logins are slow)."""
    with database.session() as session:
        member = session.get(Member, member_id)
        assert member is not None
        token = issue_token(session, member).token
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def add_member(database: Database, username: str, *memberships: tuple[str, str],
               language: str = "fr", verified: bool = True) -> int:
    """A member with current memberships; no password (they get tokens by :func:`bearer`)."""
    now = utcnow()
    with database.session() as session:
        member = Member(username=username, display_name=username.title(), password_hash="-",
                        language=language, created_at=now)
        session.add(member)
        session.flush()
        for place_id, role in memberships:
            session.add(Membership(member_id=member.id, place_id=place_id, role=role,
                                   verified=verified, started_at=now - timedelta(days=30)))
        session.commit()
        return member.id


def publish(client: TestClient, headers: dict[str, str], place: str, kind: str, *,
            title: str = "Titre", body: str = "", data: dict[str, Any] | None = None,
            residents_only: bool = False) -> Response:
    """POST /api/posts with the kind's example data unless ``data`` is given."""
    payload: dict[str, Any] = {
        "place": place, "kind": kind, "title": title, "body": body,
        "data": example_data(kind, utcnow()) if data is None else data,
    }
    if residents_only:
        payload["residents_only"] = True
    return client.post("/api/posts", json=payload, headers=headers)


def created(response: Response) -> int:
    assert response.status_code == 201, response.text
    post_id: int = response.json()["id"]
    return post_id


def stored_post(database: Database, place: str, kind: str, *, author: int | None = None,
                at: datetime | None = None, title: str | None = None,
                data: dict[str, Any] | None = None, **columns: Any) -> int:
    """A post written straight to the database (no rights, no rate limit): for setting a
    scene, never for testing what the API allows."""
    at = at or utcnow()
    validated = validate_data(kind, data if data is not None else example_data(kind, at), now=at)
    with database.session() as session:
        post = create_post(session, place, {"fr": {"title": title or f"{kind} {place}",
                                                   "body": ""}},
                           kind=kind, author_id=author, at=at,
                           data=initial_data(kind, validated, now=at, author_id=author),
                           **{**validated.columns(), **columns})
        session.commit()
        return post.id


@contextmanager
def counting_queries(database: Database) -> Iterator[list[str]]:
    """The SQL statements run while the block runs (to catch N+1 queries)."""
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
