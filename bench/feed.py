"""Benchmark 4, the feed API: ``GET /api/feed`` under 50 concurrent clients.

A database is migrated and seeded directly, in bulk: the generated site's place
tree (city ▸ neighbourhoods ▸ 100 buildings ▸ entrances ▸ floors ▸ flats), 5,000
members (residents in flats, some managers of a building, some merchants of a
neighbourhood), a bearer token each, and 100,000 posts over a year, scoped as a
real city's are — mostly to buildings and entrances, some to the neighbourhoods and
the city, a few to floors and flats — so a resident's feed draws on several
thousand visible posts.

``palier run`` then serves it (the API as deployed, in the gateway's process), and
the load generator process runs closed-loop clients as random members: 50 at once
for the headline figure, and one alone for the service time without queueing.
The same on SQLite and on a fresh PostgreSQL database, dropped afterwards.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bench import BenchError
from bench.installation import Catalogue, write_installation
from bench.live import PalierProcess
from bench.procs import module, run_json
from gateway.config.loader import load_installation
from social.accounts import hash_password
from social.db import Database
from social.models import AuthToken, Member, Membership, Post
from social.places import sync_places
from social.site import expand_site

_CHUNK = 2_000
#: Share of posts by the kind of place they are scoped to.
_SCOPES = (("city", 0.05), ("neighbourhood", 0.15), ("building", 0.40), ("entrance", 0.25),
           ("floor", 0.10), ("unit", 0.05))
_KINDS = {
    "city": ("event", "promotion", "notice", "lost_found"),
    "neighbourhood": ("event", "promotion", "service_offer", "service_request", "lending",
                      "lost_found"),
    "building": ("message", "notice", "alert", "service_offer", "service_request", "lending",
                 "help_request", "event"),
    "entrance": ("message", "notice", "alert", "help_request", "lending"),
    "floor": ("message", "lending", "help_request"),
    "unit": ("notice", "message"),
}
_WORDS = ("ascenseur", "voisins", "perceuse", "fête", "colis", "chauffage", "parking", "vélo",
          "jardin", "réunion", "courses", "garde", "enfants", "cave", "bruit", "travaux")


def token_for(index: int) -> str:
    return f"bench-token-{index:06d}-{uuid.uuid5(uuid.NAMESPACE_OID, str(index)).hex}"


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize()


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), _CHUNK):
        yield rows[start:start + _CHUNK]


def seed(database: Database, cat: Catalogue, *, posts: int, members: int,
         seed_value: int = 4) -> list[str]:
    """Migrate and fill ``database``; return the members' bearer tokens (one each)."""
    rng = random.Random(seed_value)
    now = datetime.now(UTC)
    database.migrate()
    with tempfile.TemporaryDirectory(prefix="palier-bench-site-") as tmp:
        installation = load_installation(write_installation(Path(tmp), cat, rule_count=0,
                                                            with_devices=False))
    nodes = expand_site(installation.site)
    by_kind: dict[str, list[str]] = {}
    for node in nodes:
        by_kind.setdefault(node.kind, []).append(node.id)
    password = hash_password("bench-pass")
    year = timedelta(days=365)
    with database.session() as session:
        sync_places(session, nodes)
        session.commit()
    with database.engine.begin() as conn:
        conn.execute(insert(Member), [
            {"id": i + 1, "username": f"member{i:05d}", "display_name": f"Membre {i}",
             "password_hash": password, "language": "en" if rng.random() < 0.2 else "fr",
             "created_at": now - year}
            for i in range(members)])
        memberships = []
        for i in range(members):
            draw = rng.random()
            if draw < 0.02:
                place, role = rng.choice(by_kind["building"]), "manager"
            elif draw < 0.03:
                place, role = rng.choice(by_kind["neighbourhood"]), "merchant"
            else:
                place, role = rng.choice(by_kind["unit"]), "resident"
            memberships.append({"member_id": i + 1, "place_id": place, "role": role,
                                "verified": True, "started_at": now - year})
        for chunk in _chunks(memberships):
            conn.execute(insert(Membership), chunk)
        tokens = [token_for(i) for i in range(members)]
        token_rows = [{"token_hash": hashlib.sha256(t.encode()).hexdigest(), "member_id": i + 1,
                       "created_at": now, "expires_at": now + timedelta(days=1)}
                      for i, t in enumerate(tokens)]
        for chunk in _chunks(token_rows):
            conn.execute(insert(AuthToken), chunk)
        scopes = [s for s, _ in _SCOPES]
        weights = [w for _, w in _SCOPES]
        rows = []
        for _ in range(posts):
            scope = rng.choices(scopes, weights)[0]
            kind = rng.choice(_KINDS[scope])
            created = now - timedelta(seconds=rng.uniform(0, year.total_seconds()))
            title = _sentence(rng, 4)
            content: dict[str, dict[str, str]] = {"fr": {"title": title,
                                                         "body": _sentence(rng, 25)}}
            if rng.random() < 0.3:
                content["en"] = {"title": title, "body": _sentence(rng, 25)}
            automatic = kind in ("alert", "notice") and scope != "city"
            rows.append({
                "place_id": rng.choice(by_kind[scope]),
                "author_id": None if automatic else rng.randint(1, members),
                "kind": kind, "content": content,
                "status": "resolved" if kind == "alert" and rng.random() < 0.8 else "active",
                "created_at": created, "updated_at": created, "data": {},
            })
            if len(rows) >= _CHUNK:
                conn.execute(insert(Post), rows)
                rows = []
        if rows:
            conn.execute(insert(Post), rows)
    with database.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    _check_count(database, posts)
    return tokens


def _check_count(database: Database, posts: int) -> None:
    with database.engine.connect() as conn:
        got = conn.execute(text("SELECT count(*) FROM posts")).scalar_one()
    if got != posts:
        raise BenchError(f"seeded {got} posts, expected {posts}")


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for the bench, dropped on the way out."""
    name = f"palier_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as exc:
        admin.dispose()
        raise BenchError(f"PostgreSQL at {make_url(admin_url).render_as_string()} "
                         f"is unusable: {getattr(exc, 'orig', exc)}") from exc
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def feed_load(database_url: str, cat: Catalogue, workdir: Path, broker_port: int, *,
              posts: int, members: int, clients: int, seconds: float,
              reseed: bool = True) -> dict[str, Any]:
    """Seed ``database_url`` (unless a previous run did), serve it with ``palier run`` and
    load ``GET /api/feed``: one client alone, then ``clients`` at once."""
    workdir.mkdir(parents=True, exist_ok=True)
    tokens = [token_for(i) for i in range(members)]
    seed_seconds = 0.0
    if reseed:
        began = time.perf_counter()
        database = Database(database_url)
        try:
            tokens = seed(database, cat, posts=posts, members=members)
        finally:
            database.dispose()
        seed_seconds = time.perf_counter() - began
    token_file = workdir / "tokens.txt"
    token_file.write_text("\n".join(tokens))
    config = write_installation(workdir / "installation", cat, rule_count=0, with_devices=False)
    palier = PalierProcess(config, broker_port, workdir / "palier",
                           database_url=database_url)
    try:
        palier.start()
        url = palier.api
        single = run_json(module("bench.loadgen", "--url", url, "--tokens", token_file,
                                 "--clients", 1, "--seconds", max(1.0, seconds / 3),
                                 "--warmup", 0.5), timeout=seconds + 60)
        loaded = run_json(module("bench.loadgen", "--url", url, "--tokens", token_file,
                                 "--clients", clients, "--seconds", seconds, "--warmup", 1),
                          timeout=seconds + 60)
    finally:
        palier.stop()
    return {"posts": posts, "members": members, "seed_seconds": seed_seconds,
            "single": single, "loaded": loaded}
