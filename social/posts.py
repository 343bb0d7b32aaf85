"""Posts: writing them, reading one, editing and widening them, and their text per language.

A post's ``content`` holds its text in every language it was written in:
``{"fr": {"title": ..., "body": ...}, "en": {...}}``. Readers get their own language,
else French (the residents' default), else whatever the post has. A member's post is
stored in the language the member chose: nothing is machine-translated.

Every member-facing operation asks :mod:`social.rights` first and reads through
:func:`readable_posts` (the visibility rule, then what moderation removes); nothing
here decides on its own who may do what. Nothing here commits: the route does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import Select, SQLColumnExpression, exists, func, select
from sqlalchemy.orm import Session

from social.community_models import Rsvp, ScopeChange
from social.errors import (
    InvalidPostData,
    NotAllowed,
    PlaceNotVisible,
    PostConflict,
    PostNotFound,
    SocialError,
)
from social.models import POST_KINDS, Member, Place, PlaceAncestor, Post, utcnow
from social.moderation import check_post_rate, visible_to
from social.post_kinds import (
    MODELS,
    SERVER_FIELDS,
    editable_input,
    initial_data,
    validate_data,
)
from social.rights import Decision, can_act, can_post
from social.visibility import visible

FALLBACK_LANGUAGE = "fr"

Content = dict[str, dict[str, str]]
Ts = TypeVarTuple("Ts")

#: Texts of the conflicts raised here, in both languages.
CONFLICTS: dict[str, Mapping[str, str]] = {
    "hidden": {"fr": "Cette publication est masquée par la modération.",
               "en": "This post is hidden by moderation."},
    "residents_only_stays": {
        "fr": "Une publication réservée aux habitants reste dans l'immeuble : elle ne "
              "s'élargit pas.",
        "en": "A residents-only post stays in the building: it cannot be widened."},
    "capacity_below_attendance": {
        "fr": "{count} personnes ont déjà répondu oui : la capacité ne peut pas descendre "
              "en dessous.",
        "en": "{count} people already said yes: the capacity cannot go below that."},
}


def conflict_text(code: str, lang: str, **values: object) -> str:
    texts = CONFLICTS[code]
    return (texts.get(lang) or texts["en"]).format(**values)


def content_from(title: Mapping[str, str], body: Mapping[str, str] | None = None) -> Content:
    """Content for every language in which the title or the body is written."""
    body = body or {}
    return {
        lang: {"title": title.get(lang, ""), "body": body.get(lang, "")}
        for lang in sorted(set(title) | set(body))
    }


def localize(texts: Mapping[str, object], lang: str) -> object | None:
    """The entry for ``lang``, else French, else the first one; None when there is none."""
    for candidate in (lang, FALLBACK_LANGUAGE):
        if candidate in texts:
            return texts[candidate]
    return next(iter(texts.values()), None)


def localize_content(content: Mapping[str, Mapping[str, str]], lang: str) -> tuple[str, str]:
    """``(title, body)`` of ``content`` in ``lang`` (with the usual fallback)."""
    text = localize(content, lang)
    if not isinstance(text, Mapping):
        return "", ""
    return str(text.get("title", "")), str(text.get("body", ""))


def content_language(content: Mapping[str, object], lang: str) -> str | None:
    """The language :func:`localize` picks for ``lang``."""
    for candidate in (lang, FALLBACK_LANGUAGE):
        if candidate in content:
            return candidate
    return next(iter(content), None)


def create_post(
    session: Session,
    place_id: str,
    content: Content,
    *,
    kind: str = "message",
    author_id: int | None = None,
    alarm_id: int | None = None,
    at: datetime | None = None,
    residents_only: bool = False,
    data: Mapping[str, Any] | None = None,
    pinned_until: datetime | None = None,
    expires_at: datetime | None = None,
) -> Post:
    """A new active post; the caller has already checked the author may post there."""
    if kind not in POST_KINDS:
        raise ValueError(f"unknown post kind {kind!r}; expected one of {', '.join(POST_KINDS)}")
    at = at or utcnow()
    post = Post(place_id=place_id, author_id=author_id, kind=kind, content=content,
                status="active", created_at=at, updated_at=at, alarm_id=alarm_id,
                residents_only=residents_only, data=dict(data or {}),
                pinned_until=pinned_until, expires_at=expires_at, moderation="visible")
    session.add(post)
    session.flush()
    return post


# -- reading ----------------------------------------------------------------------------


def readable_posts(
    stmt: Select[*Ts], member_id: int, *, now: datetime | None = None,
    place_column: SQLColumnExpression[str] | None = None,
) -> Select[*Ts]:
    """``stmt`` (over ``posts``) narrowed to what ``member_id`` may read: the visibility
    rule (residents-only clause included), then moderation (a hidden post is its
    author's only; posts of authors the member blocked disappear).

    ``place_column`` stands for ``posts.place_id`` where a query must steer the planner
    (the feed's newest-first scan); it must be the same column."""
    return visible_to(visible(
        stmt, Post.place_id if place_column is None else place_column, member_id, now=now,
        residents_only=Post.residents_only, kind=Post.kind, author=Post.author_id,
    ), member_id)


def find_post(
    session: Session, member_id: int, post_id: int, *, now: datetime | None = None
) -> tuple[Post, Place]:
    """One post ``member_id`` may read, with its place; :class:`PostNotFound` otherwise
    (whether it exists elsewhere or not)."""
    row = session.execute(readable_posts(
        select(Post, Place).join(Place, Place.id == Post.place_id).where(Post.id == post_id),
        member_id, now=now,
    )).first()
    if row is None:
        raise PostNotFound(post_id)
    return row[0], row[1]


def refusal(decision: Decision, member: Member, *, place_id: str | None = None,
            post_id: int | None = None) -> SocialError:
    """The error that tells ``member`` why the matrix said no.

    A member who may not even read the place or the post learns nothing more than
    "not found".
    """
    if decision.hides:
        if post_id is not None:
            return PostNotFound(post_id)
        return PlaceNotVisible(place_id or "")
    if decision.conflicts and post_id is not None:
        return PostConflict(post_id, decision.message(member.language), decision.reason)
    return NotAllowed(decision.message(member.language), decision.reason)


def post_for(
    session: Session,
    member: Member,
    post_id: int,
    action: str,
    *,
    now: datetime | None = None,
    lock: bool = False,
) -> Post:
    """The post ``action`` is about, once the matrix allowed ``member`` to do it.

    ``lock`` takes the post's row lock first (PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
    already serialises writers), so that checks on its state — an event's free places,
    a ticket's status — hold until the caller commits.
    """
    stmt = select(Post).where(Post.id == post_id)
    if lock:
        stmt = stmt.with_for_update()
    post = session.scalar(stmt.execution_options(populate_existing=True))
    if post is None:
        raise PostNotFound(post_id)
    readable = bool(session.scalar(select(exists(
        readable_posts(select(Post.id).where(Post.id == post_id), member.id, now=now)))))
    decision = can_act(session, member, action, post, readable=readable, now=now)
    if not decision:
        raise refusal(decision, member, post_id=post_id)
    if post.moderation == "hidden" and action not in ("read", "edit"):
        raise PostConflict(post_id, conflict_text("hidden", member.language), "hidden")
    return post


# -- writing ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    """What a member asks to publish (already shaped by the API's request model)."""

    place_id: str
    kind: str
    title: str
    body: str = ""
    residents_only: bool = False
    data: Mapping[str, Any] = field(default_factory=dict)


def publish(session: Session, member: Member, draft: Draft, *, now: datetime | None = None
            ) -> Post:
    """Validate ``draft`` for its kind, ask the matrix, respect the posting rate, write it.

    Raises :class:`InvalidPostData` (422), :class:`PlaceNotVisible` (404),
    :class:`NotAllowed` (403) or the moderation's ``RateLimited`` (429).
    """
    now = now or utcnow()
    validated = validate_data(draft.kind, draft.data, now=now)
    decision = can_post(session, member, draft.kind, draft.place_id,
                        residents_only=draft.residents_only, now=now)
    if not decision:
        raise refusal(decision, member, place_id=draft.place_id)
    check_post_rate(session, member.id, now)
    return create_post(
        session, draft.place_id,
        {member.language: {"title": draft.title, "body": draft.body}},
        kind=draft.kind, author_id=member.id, at=now, residents_only=draft.residents_only,
        data=initial_data(draft.kind, validated, now=now, author_id=member.id),
        **validated.columns(),
    )


def edit_post(
    session: Session,
    member: Member,
    post_id: int,
    *,
    title: str | None = None,
    body: str | None = None,
    data: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Post:
    """The author changes the text or the editable fields of their post.

    The text is changed in the language it was written in. ``data`` is a partial
    update: only the kind's editable fields (a lending's ``returned``, an event's room
    and times...), ``null`` clearing an optional one; the result is validated as a
    whole, "not in the past" only for the fields that change.
    """
    now = now or utcnow()
    post = post_for(session, member, post_id, "edit", now=now, lock=True)
    if title is not None or body is not None:
        lang = content_language(post.content, member.language) or member.language
        text = dict(post.content.get(lang, {}))
        if title is not None:
            text["title"] = title
        if body is not None:
            text["body"] = body
        post.content = {**post.content, lang: text}
    if data:
        _edit_data(session, member, post, data, now)
    post.updated_at = now
    session.flush()
    return post


def _edit_data(session: Session, member: Member, post: Post, patch: Mapping[str, Any],
               now: datetime) -> None:
    model = MODELS[post.kind]
    frozen = sorted(set(patch) - model.EDITABLE)
    if frozen:
        raise InvalidPostData([
            {"loc": ["body", "data", name], "type": "frozen_field",
             "msg": "cannot be changed after publishing" if name in model.model_fields
             else "not a field of this kind"}
            for name in frozen
        ])
    current = editable_input(post.kind, post.data,
                             {"pinned_until": post.pinned_until, "expires_at": post.expires_at})
    merged = {**current, **patch}
    merged = {key: value for key, value in merged.items() if value is not None}
    validated = validate_data(post.kind, merged, now=now, changed=set(patch))
    if post.kind == "event":
        capacity = validated.model_dump().get("capacity")
        coming = session.scalar(select(func.count(Rsvp.id)).where(
            Rsvp.post_id == post.id, Rsvp.answer == "yes")) or 0
        if capacity is not None and capacity < coming:
            raise PostConflict(post.id, conflict_text("capacity_below_attendance",
                                                      member.language, count=coming),
                               "capacity_below_attendance")
    server = {key: post.data[key] for key in SERVER_FIELDS.get(post.kind, ())
              if key in post.data}
    post.data = {**validated.stored(), **server}
    for name, value in validated.columns().items():
        setattr(post, name, value)


def widen_post(session: Session, member: Member, post_id: int, place_id: str, *,
               now: datetime | None = None) -> Post:
    """The author moves their post to a wider circle above it, and the move is recorded.

    Only upwards (building → neighbourhood), only where the author could post that kind
    (a problem report stays in its building), never for a residents-only post.
    """
    now = now or utcnow()
    post = post_for(session, member, post_id, "widen", now=now, lock=True)
    if post.residents_only:
        raise PostConflict(post.id, conflict_text("residents_only_stays", member.language),
                           "residents_only_stays")
    above = session.scalar(select(exists(select(PlaceAncestor.place_id).where(
        PlaceAncestor.place_id == post.place_id, PlaceAncestor.ancestor_id == place_id,
        PlaceAncestor.depth > 0))))
    if not above:
        raise InvalidPostData([{
            "loc": ["body", "place"], "type": "not_wider",
            "msg": f"{place_id!r} is not a wider circle above {post.place_id!r}: a post "
                   "is only widened upwards (building → neighbourhood → city)"}])
    decision = can_post(session, member, post.kind, place_id, now=now)
    if not decision:
        raise refusal(decision, member, place_id=place_id)
    session.add(ScopeChange(post_id=post.id, from_place=post.place_id, to_place=place_id,
                            by=member.id, at=now))
    post.place_id = place_id
    post.updated_at = now
    session.flush()
    return post
