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
    ├── PlaceNotFound        no unit or building with that id in the site (404)
    ├── WrongPlaceKind       an invite or join request names a place that is not a unit (400)
    ├── InvalidInviteCode    not even shaped like an invite code (400)
    ├── InviteNotFound       no such invite code (404)
    ├── InviteUsed           the code was redeemed already: codes are single-use (409)
    ├── InviteGone           the code expired or was revoked (410)
    ├── NotAManager          the caller manages no building, or not this one (403)
    ├── JoinRequestNotFound  no such join request among those the member may see (404)
    ├── MembershipNotFound   no such membership among those the member may end (404)
    ├── MemberNotFound       no such member among those the caller may see (404)
    ├── MembershipConflict   already a member, already asked, already decided or ended (409)
    ├── TooManyLoginAttempts too many failed logins for a username lately (429)
    ├── WrongPassword        the password confirming a sensitive change is wrong (403)
    ├── PostNotFound         no such post among those the member may read (404)
    ├── NotAllowed           the rights matrix says no, in the member's language (403)
    ├── PostConflict         the post's state forbids it: event full, already voted... (409)
    ├── InvalidPostData      a post's kind-specific fields are wrong (422)
    ├── OfferNotFound        no such help offer on that post among those the member may see (404)
    └── DatabaseError        the database refused or could not be reached (wraps SQLAlchemy)

The "not found" errors do not say whether the object exists elsewhere: a manager of
one building must not learn about another building's alarms by probing ids.
"""

from __future__ import annotations

from typing import Any


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


# -- members and trust: joining, profiles, accounts --------------------------------------

class PlaceNotFound(SocialError):
    def __init__(self, place_id: str, kind: str) -> None:
        super().__init__(f"no {kind} {place_id!r} in the site")
        self.place_id = place_id


class WrongPlaceKind(SocialError):
    def __init__(self, place_id: str, kind: str, expected: str, why: str) -> None:
        article = "an" if kind[:1] in "aeiou" else "a"
        super().__init__(f"{place_id!r} is {article} {kind}, not a {expected}: {why}")
        self.place_id = place_id


class InvalidInviteCode(SocialError):
    def __init__(self, code: str) -> None:
        super().__init__(
            f"{code!r} is not an invite code: a code has 10 letters and digits, "
            "like ABCD-EFGH-JK (dashes and spaces optional)"
        )
        self.code = code


class InviteNotFound(SocialError):
    def __init__(self, code: str) -> None:
        super().__init__(f"no invite code {code}: check the letters, or ask your manager")
        self.code = code


class InviteUsed(SocialError):
    def __init__(self, code: str) -> None:
        super().__init__(
            f"the invite code {code} was already used: a code admits one person; "
            "ask your manager for another"
        )
        self.code = code


class InviteGone(SocialError):
    """An expired or revoked code (HTTP 410): it existed, it will never work again."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"the invite code {code} {reason}: ask your manager for a new one")
        self.code = code


class NotAManager(SocialError):
    """The caller lacks a manager role where one is needed (HTTP 403); the message says where."""


class JoinRequestNotFound(SocialError):
    def __init__(self, request_id: int) -> None:
        super().__init__(
            f"no join request {request_id} among those of the buildings you manage"
        )
        self.request_id = request_id


class MembershipNotFound(SocialError):
    def __init__(self, membership_id: int) -> None:
        super().__init__(
            f"no membership {membership_id} among yours or those of the buildings you manage"
        )
        self.membership_id = membership_id


class MemberNotFound(SocialError):
    def __init__(self, member_id: int) -> None:
        super().__init__(f"no member {member_id} among the members you may see")
        self.member_id = member_id


class MembershipConflict(SocialError):
    """The membership or request is not in a state that allows it (HTTP 409)."""


class TooManyLoginAttempts(SocialError):
    """Logins for this username are paused (HTTP 429); ``retry_after`` is whole seconds."""

    def __init__(self, username: str, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            f"too many failed logins for {username!r}: try again in {minutes} min "
            "(or ask your manager if you forgot your password)"
        )
        self.username = username
        self.retry_after = retry_after


class WrongPassword(SocialError):
    def __init__(self, what: str) -> None:
        super().__init__(f"wrong password: {what}")


# -- posts and what neighbours do with them ----------------------------------------------

class PostNotFound(SocialError):
    def __init__(self, post_id: int) -> None:
        super().__init__(f"no post {post_id} among the posts you may read")
        self.post_id = post_id


class NotAllowed(SocialError):
    """The rights matrix says no (HTTP 403); the message is already in the member's language.

    ``code`` is the matrix's stable reason (``alert_rules_engine_only``...), for clients
    that want to react to it rather than show it.
    """

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class PostConflict(SocialError):
    """The post's state forbids the change (HTTP 409); the message says why."""

    def __init__(self, post_id: int, message: str, code: str) -> None:
        super().__init__(message)
        self.post_id = post_id
        self.code = code


class InvalidPostData(SocialError):
    """Kind-specific fields that do not validate (HTTP 422), as pydantic error dicts whose
    ``loc`` starts at the request body (``["body", "data", "capacity"]``)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        summary = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in errors
        )
        super().__init__(f"invalid request: {summary}")
        self.errors = errors


class OfferNotFound(SocialError):
    def __init__(self, offer_id: int) -> None:
        super().__init__(f"no help offer {offer_id} among those you may see on this post")
        self.offer_id = offer_id


class DatabaseError(SocialError):
    """The database failed; ``__cause__`` holds SQLAlchemy's error."""
