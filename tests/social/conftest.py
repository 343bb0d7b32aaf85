"""Fixtures for the social layer: real SQLite files and real PostgreSQL databases.

``database`` runs a test once per backend. On PostgreSQL every test gets its own
database, created beside the run's ``postgres_url`` one, so tests cannot see each
other's rows and the migration test starts from an empty schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from social.accounts import hash_password
from social.db import Database
from social.models import Member, Membership, Post, utcnow
from social.places import sync_places
from social.posts import content_from, create_post
from social.site import PlaceNode, SiteFile, expand_site

SITE = {
    "city": {"id": "evry", "name": "Évry-Courcouronnes"},
    "neighbourhoods": [{
        "id": "pyramides",
        "name": "Les Pyramides",
        "buildings": [
            {"id": "lilas", "name": "Résidence Les Lilas",
             "entrances": {"a": {"floors": 4, "units_per_floor": 2},
                           "b": {"floors": 5, "units_per_floor": 2, "basement": True}}},
            {"id": "tilleuls", "name": "Les Tilleuls",
             "entrances": {"a": {"floors": 3, "units_per_floor": 2}}},
        ],
    }],
}


@pytest.fixture
def site() -> list[PlaceNode]:
    return expand_site(SiteFile.model_validate(SITE))


def _fresh_postgres_url(run_url: str) -> tuple[str, Callable[[], None]]:
    """A new empty database on the run's server, and how to drop it."""
    url = make_url(run_url)
    name = f"{url.database}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@contextmanager
def _open_database(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Database]:
    if backend == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'palier.sqlite3'}")
        try:
            yield database
        finally:
            database.dispose()
        return
    url, drop = _fresh_postgres_url(request.getfixturevalue("postgres_url"))
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()
        drop()


@pytest.fixture
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An unmigrated database of the backend given by indirect parametrization."""
    with _open_database(request.param, request, tmp_path) as database:
        yield database


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database, once on a SQLite file and once on PostgreSQL."""
    with _open_database(request.param, request, tmp_path) as database:
        database.migrate()
        yield database


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'palier.sqlite3'}")
    database.migrate()
    yield database
    database.dispose()


#: One argon2 hash for all the test members that log in with "secret" (hashing is slow).
@pytest.fixture(scope="session")
def secret_hash() -> str:
    return hash_password("secret")


@dataclass
class World:
    """The people of the realistic site, by role, as member ids."""

    resident: int
    merchant: int
    manager: int
    ended: int
    unverified: int
    other_resident: int
    english_resident: int


@pytest.fixture
def make_member(secret_hash: str) -> Callable[..., int]:
    def make(session: Session, username: str, *memberships: tuple[str, str],
             verified: bool = True, ended: bool = False, language: str = "fr") -> int:
        now = utcnow()
        member = Member(username=username, display_name=username.title(),
                        password_hash=secret_hash, language=language, created_at=now)
        session.add(member)
        session.flush()
        for place_id, role in memberships:
            session.add(Membership(
                member_id=member.id, place_id=place_id, role=role, verified=verified,
                started_at=now - timedelta(days=30),
                ended_at=now - timedelta(hours=1) if ended else None,
            ))
        session.flush()
        return member.id

    return make


@pytest.fixture
def world(database: Database, site: list[PlaceNode], make_member: Callable[..., int]) -> World:
    return build_world(database, site, make_member)


@pytest.fixture
def sqlite_world(
    sqlite_database: Database, site: list[PlaceNode], make_member: Callable[..., int]
) -> World:
    return build_world(sqlite_database, site, make_member)


def build_world(
    database: Database, site: list[PlaceNode], make_member: Callable[..., int]
) -> World:
    with database.session() as session:
        sync_places(session, site)
        world = World(
            resident=make_member(session, "alice", ("lilas/b/3/31", "resident")),
            merchant=make_member(session, "boulanger", ("pyramides", "merchant")),
            manager=make_member(session, "syndic", ("lilas", "manager")),
            ended=make_member(session, "bob", ("lilas/a/2/21", "tenant"), ended=True),
            unverified=make_member(session, "carol", ("lilas/b/3/32", "owner"), verified=False),
            other_resident=make_member(session, "tom", ("tilleuls/a/1/11", "resident")),
            english_resident=make_member(session, "emma", ("lilas/b/3/32", "tenant"),
                                         language="en"),
        )
        session.commit()
    return world


@pytest.fixture
def post_at() -> Callable[..., int]:
    """Write a post scoped to a place; returns its id."""

    def write(session: Session, place_id: str, *, fr: str | None = None, en: str | None = None,
              at: datetime | None = None, kind: str = "message") -> int:
        title = {"fr": fr or f"Annonce {place_id}"}
        if en is not None:
            title["en"] = en
        post: Post = create_post(session, place_id, content_from(title, {}), kind=kind, at=at)
        return post.id

    return write
