"""What the rules engine asks the rest of Palier to do. Pure data, no I/O.

Texts are rendered by the engine (Jinja2 sandbox) in every resident language, so
the social layer stores them as they are and replays are deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Text in each resident language, e.g. ``{"fr": "Fuite d'eau", "en": "Water leak"}``.
LocalText = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class PostDraft:
    """A post to create with an alarm (alert, notice or help request), scoped to a place."""

    place_id: str
    kind: str  # alert | notice | help_request
    title: LocalText
    body: LocalText = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NoticeDraft:
    """A private notice to the residents of one unit (a parcel is waiting at the desk)."""

    unit_id: str
    title: LocalText
    body: LocalText = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CommandDraft:
    """Set a point of a device (canonical value), sent through its bridge at QoS 1."""

    device_id: str
    point: str
    value: bool | int | float | str


@dataclass(frozen=True, slots=True)
class WebhookDraft:
    url: str
    method: str = "POST"
    body: str = ""
    timeout: float = 5.0
    retries: int = 3


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """After ``after`` seconds unacknowledged, notify ``notify`` and/or open a help request."""

    after: float
    notify: str = "on_call"  # on_call | managers
    help_request: PostDraft | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """A reading, event or availability change that made the condition true."""

    device_id: str
    what: str  # "water_leak = true", "offline", "event parcel_delivered"
    at: float
    condition: str  # the condition as the installer wrote it, e.g. "water_leak is true"
    value: bool | int | float | str | None = None  # the reading's value, for templates


@dataclass(frozen=True, slots=True)
class RaiseAlarm:
    """Open an alarm for (rule, subject) unless one is already open for them.

    ``device_id`` is the subject: a device id, or ``place:<id>`` for an incident
    grouping several devices (a count over a place).
    """

    rule_id: str
    device_id: str
    place_id: str  # the device's (or the group's) place
    building_id: str | None
    severity: str
    title: LocalText
    at: float  # when the condition became true (epoch seconds)
    notify_managers: bool = True
    notify_on_call: bool = False
    post: PostDraft | None = None
    notice: NoticeDraft | None = None
    help_request: PostDraft | None = None
    commands: tuple[CommandDraft, ...] = ()
    webhooks: tuple[WebhookDraft, ...] = ()
    escalation: tuple[EscalationStep, ...] = ()
    acknowledge_text: LocalText = field(default_factory=dict)  # may use {{ note }}, {{ by }}
    clear_text: LocalText = field(default_factory=dict)  # may use {{ duration }}
    evidence: tuple[Evidence, ...] = ()
    quiet_hours_apply: bool = True  # False for critical: residents are told at once


@dataclass(frozen=True, slots=True)
class ClearAlarm:
    """Close the open alarm for (rule, subject), if any, and resolve its post."""

    rule_id: str
    device_id: str
    at: float


@dataclass(frozen=True, slots=True)
class StateChange:
    """A rule's state for a subject changed; stored with the actions, to survive restarts."""

    rule_id: str
    subject: str
    state: Mapping[str, Any] | None  # None: back to idle, forget it


Action = RaiseAlarm | ClearAlarm
