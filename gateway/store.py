"""The processor's sink: rule actions committed to the social database in one transaction."""

from __future__ import annotations

from collections.abc import Sequence

from rules.actions import Action
from social.alarms import AlarmBook, AlarmChange
from social.db import Database


class AlarmStore:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._book = AlarmBook()
        self.changes = 0

    def apply(self, actions: Sequence[Action]) -> list[AlarmChange]:
        with self._database.session() as session:
            changes = self._book.apply(session, actions)
            session.commit()
        self.changes += len(changes)
        return changes
