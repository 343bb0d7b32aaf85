"""The processor's sink: rule actions and rule states committed to the social database
in one transaction.

Storing both together is what makes a restart exact: after a crash, the rule states
on disk are those that produced the alarms on disk, never one without the other.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from rules.actions import Action, StateChange
from social.alarms import AlarmBook, AlarmChange, open_alarm_keys
from social.db import Database
from social.rule_states import load_rule_states, save_rule_states


class AlarmStore:
    """Opens one session per call; ``clock`` (epoch seconds) stamps notifications and
    outbox rows, so the processor's injected clock reaches them."""

    def __init__(
        self,
        database: Database,
        *,
        book: AlarmBook | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._database = database
        self._book = book or AlarmBook()
        self._clock = clock
        self.changes = 0

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def apply(
        self, actions: Sequence[Action], state_changes: Sequence[StateChange] = ()
    ) -> list[AlarmChange]:
        """Commit the actions' effects and the rule states in one transaction; raise on failure
        (nothing is stored then, and the caller retries the whole batch)."""
        if not actions and not state_changes:
            return []
        now = self._now()
        with self._database.session() as session:
            changes = self._book.apply(session, actions, now=now)
            save_rule_states(session, state_changes, now=now)
            session.commit()
        self.changes += len(changes)
        return changes

    def escalate_due(self) -> list[AlarmChange]:
        """Take the escalation steps due now; safe to call from several workers at once."""
        with self._database.session() as session:
            changes = self._book.escalate_due(session, self._now())
            session.commit()
        self.changes += len(changes)
        return changes

    def load_rule_states(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The saved states, for ``RuleEngine.load_states`` at start-up."""
        with self._database.session() as session:
            return load_rule_states(session)

    def open_alarm_keys(self) -> set[tuple[str, str]]:
        """(rule, subject) of the open alarms, for ``RuleEngine.restore`` at start-up."""
        with self._database.session() as session:
            return open_alarm_keys(session)
