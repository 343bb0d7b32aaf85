"""The fields each post kind carries in ``Post.data``, one pydantic model per kind.

The schema stays generic (one JSON column) so that a new kind needs no migration;
these models are what keeps the column honest. Every model forbids unknown keys, so
a client cannot slip in a field the server owns (a problem report's ``status``, a
promotion's ``label``): those are added by :func:`initial_data` and changed only by
the actions that own them.

Dates that matter to the feed (a notice's ``pinned_until`` and ``expires_at``, a
promotion's ``expires_at``) live in ``Post`` columns, where the feed can filter and
order on them; the model reports them through :meth:`KindData.columns`.

Validation takes a context ``{"now": datetime, "changed": set[str] | None}``: "in the
future" is checked against ``now``, and, when editing, only for the fields the author
changes (an event whose registration opened last week may still get a new room).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from social.errors import InvalidPostData
from social.models import POST_KINDS, utcnow

PostKind = Literal["message", "alert", "notice", "help_request", "service_offer",
                   "service_request", "lending", "event", "promotion", "lost_found", "poll",
                   "problem_report"]
ServiceCategory = Literal["babysitting", "pet_sitting", "odd_jobs", "lending", "tutoring",
                          "gardening", "shopping", "transport", "other"]
#: The services neighbours offer, ask for and vouch for one another.
SERVICE_CATEGORIES: tuple[str, ...] = get_args(ServiceCategory)
ProblemCategory = Literal["lighting", "door", "lift", "plumbing", "heating", "electricity",
                          "intercom", "cleanliness", "other"]
TicketStatus = Literal["received", "in_progress", "fixed"]
TICKET_STATUSES: tuple[str, ...] = get_args(TicketStatus)
#: Where a problem report may go next; a fixed one may reopen when it was not fixed.
TICKET_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "received": ("in_progress", "fixed"),
    "in_progress": ("fixed",),
    "fixed": ("in_progress",),
}
#: A promotion is short-lived by nature: a shop renews it rather than pins it forever.
PROMOTION_MAX_DAYS = 90
#: Shown on every promotion, whatever the merchant wrote: the feed stays free of
#: unlabelled advertising.
PROMOTION_LABEL = {"fr": "Offre commerçante", "en": "Shop promotion"}

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text120 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


def _now(info: ValidationInfo) -> datetime:
    context = info.context or {}
    now: datetime = context.get("now") or utcnow()
    return now


def _checks(info: ValidationInfo, name: str) -> bool:
    """Whether ``name`` is new in this validation (always when creating)."""
    changed = (info.context or {}).get("changed")
    return changed is None or name in changed


class KindData(BaseModel):
    """Base of the per-kind models."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    #: Fields the author may change after publishing.
    EDITABLE: ClassVar[frozenset[str]] = frozenset()
    #: Fields stored in ``Post`` columns rather than in ``data``.
    COLUMNS: ClassVar[tuple[str, ...]] = ()

    def columns(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.COLUMNS}

    def stored(self) -> dict[str, Any]:
        """What goes in ``Post.data`` (JSON: dates as ISO strings)."""
        return self.model_dump(mode="json", exclude=set(self.COLUMNS), exclude_none=True)


def _future(value: datetime | date | None, info: ValidationInfo) -> Any:
    if value is None or not _checks(info, info.field_name or ""):
        return value
    now = _now(info)
    limit: datetime | date = now.date() if type(value) is date else now
    if value < limit:  # type: ignore[operator]  # same types by construction
        raise ValueError("must not be in the past")
    return value


class MessageData(KindData):
    pass


class AlertData(KindData):
    """Alerts come from the rules engine; members never create one (the matrix says so)."""


class NoticeData(KindData):
    EDITABLE = frozenset({"pinned_until", "expires_at"})
    COLUMNS = ("pinned_until", "expires_at")

    pinned_until: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None

    _future_dates = field_validator("pinned_until", "expires_at")(_future)

    @field_validator("expires_at")
    @classmethod
    def _outlives_pin(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        pinned = info.data.get("pinned_until")
        if value is not None and pinned is not None and value < pinned:
            raise ValueError("must not be before pinned_until: an expired notice leaves the "
                             "feed, pinned or not")
        return value


class HelpRequestData(KindData):
    EDITABLE = frozenset({"needed_at"})

    needed_at: AwareDatetime | None = None

    _future_dates = field_validator("needed_at")(_future)


class ServiceOfferData(KindData):
    EDITABLE = frozenset({"category", "availability"})

    category: ServiceCategory
    availability: Text200 | None = None


class ServiceRequestData(KindData):
    EDITABLE = frozenset({"category", "needed_at"})

    category: ServiceCategory
    needed_at: AwareDatetime | None = None

    _future_dates = field_validator("needed_at")(_future)


class LendingData(KindData):
    EDITABLE = frozenset({"object", "condition", "due", "returned"})

    object: Text120
    condition: Literal["new", "very_good", "good", "fair", "worn"]
    due: date | None = None
    returned: bool = False

    _future_dates = field_validator("due")(_future)


class EventData(KindData):
    EDITABLE = frozenset({"starts_at", "ends_at", "location", "capacity"})

    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    location: Text200
    capacity: int | None = Field(default=None, ge=1, le=10_000)

    _future_dates = field_validator("starts_at", "ends_at")(_future)

    @field_validator("ends_at")
    @classmethod
    def _after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        starts_at = info.data.get("starts_at")
        if value is not None and starts_at is not None and value <= starts_at:
            raise ValueError("must be after starts_at")
        return value


class PromotionData(KindData):
    COLUMNS = ("expires_at",)

    expires_at: AwareDatetime

    @field_validator("expires_at")
    @classmethod
    def _expires_soon(cls, value: datetime, info: ValidationInfo) -> datetime:
        now = _now(info)
        if value <= now:
            raise ValueError("must be in the future")
        if value > now + timedelta(days=PROMOTION_MAX_DAYS):
            raise ValueError(f"a promotion lasts at most {PROMOTION_MAX_DAYS} days")
        return value


class LostFoundData(KindData):
    EDITABLE = frozenset({"item", "where", "when"})

    type: Literal["lost", "found"]
    item: Text120
    where: Text200 | None = None
    when: date | None = None

    @field_validator("when")
    @classmethod
    def _not_future(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is not None and value > _now(info).date():
            raise ValueError("must not be in the future")
        return value


class PollData(KindData):
    options: list[Text200] = Field(min_length=2, max_length=10)
    closes_at: AwareDatetime | None = None

    _future_dates = field_validator("closes_at")(_future)

    @field_validator("options")
    @classmethod
    def _distinct(cls, options: list[str]) -> list[str]:
        if len({option.casefold() for option in options}) != len(options):
            raise ValueError("options must be different from one another")
        return options


class ProblemReportData(KindData):
    EDITABLE = frozenset({"location"})

    category: ProblemCategory
    location: Text200 | None = None


MODELS: dict[str, type[KindData]] = {
    "message": MessageData,
    "alert": AlertData,
    "notice": NoticeData,
    "help_request": HelpRequestData,
    "service_offer": ServiceOfferData,
    "service_request": ServiceRequestData,
    "lending": LendingData,
    "event": EventData,
    "promotion": PromotionData,
    "lost_found": LostFoundData,
    "poll": PollData,
    "problem_report": ProblemReportData,
}

#: Fields the server keeps in ``data`` beside the author's: never accepted as input.
SERVER_FIELDS: dict[str, tuple[str, ...]] = {
    "problem_report": ("status", "history", "linked_alarm_id"),
    "promotion": ("label",),
    "help_request": ("accepted_offer_id",),
}

#: The input fields of each kind, a ``?`` after the optional ones (for the rights doc).
FIELDS: dict[str, tuple[str, ...]] = {
    kind: tuple(name + ("" if info.is_required() else "?")
                for name, info in model.model_fields.items())
    for kind, model in MODELS.items()
}


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors with their location from the request body (``body.data.field``)."""
    return [
        {"loc": ["body", "data", *error["loc"]], "msg": error["msg"], "type": error["type"]}
        for error in exc.errors(include_url=False)
    ]


def validate_data(
    kind: str,
    data: Mapping[str, Any],
    *,
    now: datetime | None = None,
    changed: set[str] | None = None,
) -> KindData:
    """``data`` checked against ``kind``'s model; :class:`InvalidPostData` otherwise.

    ``changed`` (when editing) limits the "not in the past" checks to those fields.
    """
    model = MODELS.get(kind)
    if model is None:
        raise InvalidPostData([{"loc": ["body", "kind"], "type": "literal_error",
                                "msg": f"unknown kind; expected one of {', '.join(POST_KINDS)}"}])
    try:
        return model.model_validate(dict(data), context={"now": now or utcnow(),
                                                         "changed": changed})
    except ValidationError as exc:
        raise InvalidPostData(_errors(exc)) from exc


def initial_data(kind: str, validated: KindData, *, now: datetime, author_id: int | None
                 ) -> dict[str, Any]:
    """``Post.data`` of a new post: the author's fields and the server's own."""
    data = validated.stored()
    if kind == "problem_report":
        data |= {"status": "received", "linked_alarm_id": None,
                 "history": [{"status": "received", "at": now.isoformat(), "by": author_id}]}
    elif kind == "promotion":
        data["label"] = "promotion"
    return data


def editable_input(kind: str, data: Mapping[str, Any], columns: Mapping[str, Any]
                   ) -> dict[str, Any]:
    """A post's current input fields (its data without the server's, plus its columns)."""
    server = SERVER_FIELDS.get(kind, ())
    current = {key: value for key, value in data.items() if key not in server}
    for name in MODELS[kind].COLUMNS:
        value = columns.get(name)
        if value is not None:
            current[name] = value
    return current


def example_data(kind: str, now: datetime) -> dict[str, Any]:
    """Valid ``data`` for ``kind`` at ``now`` (the docs' examples, the tests' payloads)."""
    soon = (now + timedelta(days=7)).replace(microsecond=0)
    examples: dict[str, dict[str, Any]] = {
        "message": {},
        "alert": {},
        "notice": {"pinned_until": soon.isoformat(),
                   "expires_at": (soon + timedelta(days=7)).isoformat()},
        "help_request": {"needed_at": soon.isoformat()},
        "service_offer": {"category": "babysitting", "availability": "le mercredi après-midi"},
        "service_request": {"category": "pet_sitting"},
        "lending": {"object": "perceuse", "condition": "good",
                    "due": (soon + timedelta(days=7)).date().isoformat()},
        "event": {"starts_at": soon.isoformat(),
                  "ends_at": (soon + timedelta(hours=3)).isoformat(),
                  "location": "cour intérieure", "capacity": 30},
        "promotion": {"expires_at": (soon + timedelta(days=14)).isoformat()},
        "lost_found": {"type": "found", "item": "trousseau de clés", "where": "hall B"},
        "poll": {"options": ["samedi", "dimanche"]},
        "problem_report": {"category": "lighting", "location": "hall de l'entrée B"},
    }
    return examples[kind]


#: The examples of the rights document, at a fixed date so the document is stable.
EXAMPLES: dict[str, dict[str, Any]] = {
    kind: example_data(kind, datetime(2030, 1, 1, 9, 0, tzinfo=UTC)) for kind in POST_KINDS
}
