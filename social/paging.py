"""Keyset pagination by id, for the lists of members, invite codes and join requests.

A page is cut after the last id it holds rather than at an offset, so a row added
or removed while someone pages neither repeats nor hides another. Ids only grow,
so ordering by id is ordering by creation. The cursor is opaque to clients: they
pass back ``next_cursor`` as is, and anything else is :class:`InvalidCursor`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Generic, TypeVar, TypeVarTuple

from sqlalchemy import Row, Select, SQLColumnExpression
from sqlalchemy.orm import Session

from social.errors import InvalidCursor

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

DEFAULT_PAGE = 50
MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    raw = json.dumps({"after": last_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        after = json.loads(raw)["after"]
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
        raise InvalidCursor() from exc
    if not isinstance(after, int) or isinstance(after, bool):
        raise InvalidCursor()
    return after


def paginate(
    session: Session,
    stmt: Select[*Ts],
    id_column: SQLColumnExpression[int],
    *,
    limit: int,
    cursor: str | None,
    descending: bool = False,
) -> Page[Row[*Ts]]:
    """One page of ``stmt``, ordered by ``id_column``: the id of the row's first entity."""
    limit = max(1, min(limit, MAX_PAGE))
    if cursor is not None:
        after = decode_cursor(cursor)
        stmt = stmt.where(id_column < after if descending else id_column > after)
    stmt = stmt.order_by(id_column.desc() if descending else id_column.asc()).limit(limit + 1)
    rows = list(session.execute(stmt))
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, encode_cursor(_first_id(rows[-1])))


def _first_id(row: Row[*Ts]) -> int:
    first = row[0]
    key = first if isinstance(first, int) else getattr(first, "id", None)
    if not isinstance(key, int):
        raise TypeError(f"cannot page on {first!r}: the first column must be an entity or an id")
    return key
