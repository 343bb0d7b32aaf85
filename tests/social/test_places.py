"""sync_places keeps places and the closure table in step with the site."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from social.db import Database
from social.errors import UnknownPlace
from social.models import Place, PlaceAncestor
from social.places import sync_places
from social.site import PlaceNode


def ancestors(database: Database, place_id: str) -> list[tuple[str, int]]:
    with database.session() as session:
        rows = session.execute(
            select(PlaceAncestor.ancestor_id, PlaceAncestor.depth)
            .where(PlaceAncestor.place_id == place_id)
            .order_by(PlaceAncestor.depth)
        )
        return [(ancestor, depth) for ancestor, depth in rows]


def counts(database: Database) -> tuple[int, int]:
    with database.session() as session:
        return (session.scalar(select(func.count()).select_from(Place)) or 0,
                session.scalar(select(func.count()).select_from(PlaceAncestor)) or 0)


def sync(database: Database, nodes: list[PlaceNode]) -> None:
    with database.session() as session:
        sync_places(session, nodes)
        session.commit()


def test_closure_holds_every_ancestor_with_its_depth(
    database: Database, site: list[PlaceNode]
) -> None:
    sync(database, site)

    assert ancestors(database, "lilas/b/3/31") == [
        ("lilas/b/3/31", 0), ("lilas/b/3", 1), ("lilas/b", 2), ("lilas", 3),
        ("pyramides", 4), ("evry", 5),
    ]
    assert ancestors(database, "evry") == [("evry", 0)]


def test_sync_is_idempotent(database: Database, site: list[PlaceNode]) -> None:
    sync(database, site)
    before = counts(database)
    sync(database, site)

    assert counts(database) == before
    assert before[0] == len(site)


def test_renamed_place_is_updated(database: Database, site: list[PlaceNode]) -> None:
    sync(database, site)
    renamed = [replace(n, name="Les Lilas") if n.id == "lilas" else n for n in site]
    sync(database, renamed)

    with database.session() as session:
        assert session.get(Place, "lilas").name == "Les Lilas"  # type: ignore[union-attr]


def test_removed_places_go_unless_referenced(
    database: Database, site: list[PlaceNode], make_member: Callable[..., int],
    post_at: Callable[..., int],
) -> None:
    sync(database, site)
    with database.session() as session:
        make_member(session, "alice", ("tilleuls/a/1/11", "resident"))
        post_at(session, "tilleuls/a/2")
        session.commit()
    without_tilleuls = [n for n in site if not n.id.startswith("tilleuls")]

    sync(database, without_tilleuls)

    with database.session() as session:
        left = set(session.scalars(select(Place.id).where(Place.id.like("tilleuls%"))))
    # Referenced places stay with everything above them; the others go.
    assert left == {"tilleuls", "tilleuls/a", "tilleuls/a/1", "tilleuls/a/1/11", "tilleuls/a/2"}
    assert [a for a, _ in ancestors(database, "tilleuls/a/1/11")] == [
        "tilleuls/a/1/11", "tilleuls/a/1", "tilleuls/a", "tilleuls", "pyramides", "evry"
    ]
    assert ancestors(database, "tilleuls/a/0") == []


def test_moved_place_gets_new_ancestors(database: Database, site: list[PlaceNode]) -> None:
    sync(database, site)
    moved = [*site, PlaceNode("bleuets", "pyramides", "building", "Les Bleuets")]
    moved = [replace(n, parent_id="bleuets") if n.id == "tilleuls/a" else n for n in moved]

    sync(database, moved)

    assert [a for a, _ in ancestors(database, "tilleuls/a/1/11")] == [
        "tilleuls/a/1/11", "tilleuls/a/1", "tilleuls/a", "bleuets", "pyramides", "evry"
    ]


def test_unknown_parent_is_refused(database: Database, site: list[PlaceNode]) -> None:
    orphan = PlaceNode("ghost/a", "ghost", "entrance", "Nowhere")
    with database.session() as session, pytest.raises(UnknownPlace, match="'ghost'"):
        sync_places(session, [*site, orphan])
