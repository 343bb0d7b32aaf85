"""What the rules engine asks the rest of Palier to do. Pure data, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: Text in each resident language, e.g. ``{"fr": "Fuite d'eau", "en": "Water leak"}``.
LocalText = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class PostDraft:
    """An alert or notice post to create along with an alarm."""

    place_id: str
    kind: str
    title: LocalText
    body: LocalText = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RaiseAlarm:
    """Open an alarm for (rule, device) unless one is already open for them."""

    rule_id: str
    device_id: str
    place_id: str  # the device's place
    building_id: str | None
    severity: str
    title: LocalText
    at: float  # when the condition became true (epoch seconds)
    notify_managers: bool = True
    post: PostDraft | None = None


@dataclass(frozen=True, slots=True)
class ClearAlarm:
    """Close the open alarm for (rule, device), if any, and resolve its post."""

    rule_id: str
    device_id: str
    at: float


Action = RaiseAlarm | ClearAlarm
