"""The social layer's exceptions, so callers catch one root and get a message worth showing.

::

    SocialError
    ├── UsernameTaken        create_member with a username already in use
    ├── UnknownPlace         a membership or post names a place the site does not have
    ├── PlaceNotVisible      a reader asked for a place they may not read (or that is not there)
    ├── InvalidCursor        a feed cursor that this server did not hand out
    └── DatabaseError        the database refused or could not be reached (wraps SQLAlchemy)
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


class DatabaseError(SocialError):
    """The database failed; ``__cause__`` holds SQLAlchemy's error."""
