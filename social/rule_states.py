"""Rule states: what the rules engine remembers per (rule, subject), kept in the database.

Pending ``for:`` timers, episodes, cooldowns and recent history must survive a
restart and a hot reload, so the engine hands its changed states over with the
actions they led to, and both are committed in one transaction: after a crash,
the stored states match the stored alarms exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from rules.actions import StateChange
from social.models import RuleState, utcnow


def save_rule_states(
    session: Session, changes: Sequence[StateChange], *, now: datetime | None = None
) -> None:
    """Upsert the changed states; a ``None`` state deletes the row (the rule went idle).

    Only the last change per (rule, subject) counts, as in the engine. The caller commits.
    """
    latest: dict[tuple[str, str], Mapping[str, Any] | None] = {}
    for change in changes:
        latest[(change.rule_id, change.subject)] = change.state
    if not latest:
        return
    now = now or utcnow()
    gone: dict[str, list[str]] = {}
    rows = []
    for (rule_id, subject), state in latest.items():
        if state is None:
            gone.setdefault(rule_id, []).append(subject)
        else:
            rows.append({"rule_id": rule_id, "subject": subject, "state": dict(state),
                         "updated_at": now})
    for rule_id, subjects in gone.items():
        session.execute(delete(RuleState).where(
            RuleState.rule_id == rule_id, RuleState.subject.in_(subjects)
        ))
    if rows:
        _upsert(session, rows)


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    """One cached statement run as an executemany: SQLAlchemy compiles it once per
    process (a multi-row ``VALUES`` list would be compiled afresh for every batch) and
    batches the rows itself ("insertmanyvalues")."""
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        session.execute(_UPSERTS[dialect], rows)
        return
    for row in rows:  # any other backend: one merge per row, slower but portable
        session.merge(RuleState(**row))
    session.flush()


def _upsert_statement(insert: Any) -> Any:
    stmt = insert(RuleState)
    return stmt.on_conflict_do_update(
        index_elements=[RuleState.rule_id, RuleState.subject],
        set_={"state": stmt.excluded.state, "updated_at": stmt.excluded.updated_at},
    )


_UPSERTS = {"postgresql": _upsert_statement(postgresql.insert),
            "sqlite": _upsert_statement(sqlite.insert)}


def load_rule_states(session: Session) -> dict[tuple[str, str], dict[str, Any]]:
    """Every stored state by (rule id, subject), for ``RuleEngine.load_states``."""
    return {
        (row.rule_id, row.subject): dict(row.state)
        for row in session.scalars(select(RuleState))
    }
