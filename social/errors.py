"""The social layer's exceptions, so callers catch one root and get a message worth showing.

::

    SocialError
    ├── UsernameTaken        create_member with a username already in use
    ├── UnknownPlace         a membership or post names a place the site does not have
    ├── PlaceNotVisible      a reader asked for a place they may not read (or that is not there)
    ├── InvalidCursor        a feed cursor that this server did not hand out
    ├── AlarmNotFound        no such alarm among those the member manages (or none at all)
    ├── AlarmConflict        the alarm is not in a state that allows it (acknowledged twice)
    ├── NotificationNotFound no such notification among the member's delivered ones
    └── DatabaseError        the database refused or could not be reached (wraps SQLAlchemy)

The "not found" errors do not say whether the object exists elsewhere: a manager of
one building must not learn about another building's alarms by probing ids.
"""

from __future__ import annotations


class SocialError(Exception):
    """Root of every error raised by the social layer."""


class UsernameTaken(SocialError):
    def __init__(self, username: str) -> None:
        super().__init__(f"the username {username!r} is already taken")
        self.username = username


class UnknownPlace(SocialError):
    def __init__(self, place_id: str, context: str = "") -> None:
        where = f" ({context})" if context else ""
        super().__init__(f"unknown place {place_id!r}{where}: it is not in the site")
        self.place_id = place_id


class PlaceNotVisible(SocialError):
    def __init__(self, place_id: str) -> None:
        super().__init__(f"no place {place_id!r} among the places you may read")
        self.place_id = place_id


class InvalidCursor(SocialError):
    def __init__(self) -> None:
        super().__init__("invalid cursor: pass back the next_cursor of a previous page as is")


class AlarmNotFound(SocialError):
    def __init__(self, alarm_id: int) -> None:
        super().__init__(f"no alarm {alarm_id} among the alarms of the buildings you manage")
        self.alarm_id = alarm_id


class AlarmConflict(SocialError):
    """The alarm's state forbids the change (HTTP 409); the message says why."""

    def __init__(self, alarm_id: int, message: str) -> None:
        super().__init__(message)
        self.alarm_id = alarm_id


class NotificationNotFound(SocialError):
    def __init__(self, notification_id: int) -> None:
        super().__init__(f"no notification {notification_id} among yours")
        self.notification_id = notification_id


class DatabaseError(SocialError):
    """The database failed; ``__cause__`` holds SQLAlchemy's error."""
