"""Keep the ``places`` table and its closure table in step with the installation's site.

The site file is the truth for places, but history is not thrown away: a place that
left the site is deleted only when no membership, post or alarm still points at it
(or at a place below it), so old posts keep their place and nothing dangles.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from sqlalchemy import delete, insert, select, union
from sqlalchemy.orm import Session

from social.db import lock_for_setup
from social.errors import UnknownPlace
from social.models import Alarm, Membership, Place, PlaceAncestor, Post
from social.site import PlaceNode

log = logging.getLogger(__name__)

#: Deeper than any real site (city ▸ … ▸ unit is 6); guards against a parent cycle.
_MAX_DEPTH = 32


def sync_places(session: Session, nodes: list[PlaceNode]) -> None:
    """Upsert ``nodes`` and rebuild the closure table; running it twice changes nothing.

    The caller commits.
    """
    lock_for_setup(session)
    wanted = {node.id: node for node in nodes}
    existing = {place.id: place for place in session.scalars(select(Place))}
    kept = _still_referenced(session, set(existing) - set(wanted), existing)
    parents = {pid: node.parent_id for pid, node in wanted.items()}
    parents |= {pid: existing[pid].parent_id for pid in kept}
    depths = _depths(parents)

    # New places first, parents before children, so that a moved place's new parent
    # exists when its row is updated (the unit of work emits updates before inserts).
    new = [node for node in nodes if node.id not in existing]
    if new:
        session.execute(insert(Place), [
            {"id": n.id, "parent_id": n.parent_id, "kind": n.kind, "name": n.name,
             "language": n.language}
            for n in sorted(new, key=lambda n: depths[n.id])
        ])
    for node in nodes:
        place = existing.get(node.id)
        for attr in ("parent_id", "kind", "name", "language"):
            if place is not None and getattr(place, attr) != getattr(node, attr):
                setattr(place, attr, getattr(node, attr))
    session.flush()

    _sync_closure(session, parents)
    gone = set(existing) - set(wanted) - kept
    if gone:
        session.execute(delete(Place).where(Place.id.in_(gone)))
        log.info("removed %d places that left the site: %s", len(gone), sorted(gone)[:10])
    if kept:
        log.info("kept %d places that left the site but are still referenced", len(kept))
    session.flush()


def _still_referenced(
    session: Session, removed: set[str], existing: Mapping[str, Place]
) -> set[str]:
    """The removed places that must stay: referenced ones and every place above them."""
    if not removed:
        return set()
    refs = union(
        select(Membership.place_id.label("place_id")),
        select(Post.place_id),
        select(Alarm.place_id),
        select(Alarm.building_id).where(Alarm.building_id.is_not(None)),
    ).subquery()
    referenced = set(session.scalars(select(refs.c.place_id)))
    kept: set[str] = set()
    for place_id in referenced & set(existing):
        current: str | None = place_id
        while current is not None and current in existing and current not in kept:
            if current in removed:
                kept.add(current)
            current = existing[current].parent_id
    return kept


def _depths(parents: Mapping[str, str | None]) -> dict[str, int]:
    return {place_id: len(_chain(place_id, parents)) - 1 for place_id in parents}


def _chain(place_id: str, parents: Mapping[str, str | None]) -> list[str]:
    """``place_id`` and its ancestors, nearest first."""
    chain = [place_id]
    parent = parents[place_id]
    while parent is not None:
        if parent not in parents:
            raise UnknownPlace(parent, f"parent of {chain[-1]!r}")
        if len(chain) > _MAX_DEPTH or parent in chain:
            raise ValueError(f"place {place_id!r} has a parent cycle: {' > '.join(chain)}")
        chain.append(parent)
        parent = parents[parent]
    return chain


def _sync_closure(session: Session, parents: Mapping[str, str | None]) -> None:
    wanted = {
        (place_id, ancestor_id, depth)
        for place_id in parents
        for depth, ancestor_id in enumerate(_chain(place_id, parents))
    }
    current = {
        (place_id, ancestor_id, depth)
        for place_id, ancestor_id, depth in session.execute(
            select(PlaceAncestor.place_id, PlaceAncestor.ancestor_id, PlaceAncestor.depth)
        )
    }
    stale = current - wanted
    for place_id, ancestors in _group(stale).items():
        session.execute(delete(PlaceAncestor).where(
            PlaceAncestor.place_id == place_id, PlaceAncestor.ancestor_id.in_(ancestors)
        ))
    missing = wanted - current
    if missing:
        session.execute(insert(PlaceAncestor), [
            {"place_id": p, "ancestor_id": a, "depth": d} for p, a, d in sorted(missing)
        ])


def _group(rows: Iterable[tuple[str, str, int]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for place_id, ancestor_id, _depth in rows:
        grouped.setdefault(place_id, []).append(ancestor_id)
    return grouped
