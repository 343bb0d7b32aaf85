"""Posts: writing them and rendering their text in a reader's language.

A post's ``content`` holds its text in every language it was written in:
``{"fr": {"title": ..., "body": ...}, "en": {...}}``. Readers get their own language,
else French (the residents' default), else whatever the post has.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from social.models import POST_KINDS, Post, utcnow

FALLBACK_LANGUAGE = "fr"

Content = dict[str, dict[str, str]]


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


def create_post(
    session: Session,
    place_id: str,
    content: Content,
    *,
    kind: str = "message",
    author_id: int | None = None,
    alarm_id: int | None = None,
    at: datetime | None = None,
) -> Post:
    """A new active post; the caller has already checked the author may post there."""
    if kind not in POST_KINDS:
        raise ValueError(f"unknown post kind {kind!r}; expected one of {', '.join(POST_KINDS)}")
    at = at or utcnow()
    post = Post(place_id=place_id, author_id=author_id, kind=kind, content=content,
                status="active", created_at=at, updated_at=at, alarm_id=alarm_id)
    session.add(post)
    session.flush()
    return post
