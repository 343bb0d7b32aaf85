"""The installer's YAML for rules (``config/rules/*.yaml``).

A rule has one ``when`` condition, picked by its keys (a tagged union without a
tag, as installers write it)::

    point   {point: water_leak, is: true}            is / in / above / below / between
            {point: temperature, below: 14, hysteresis: 1}
            {point: co2, changed: true}  {point: volume, rate: {above: 50, per: 1h}}
            {point: temperature, missing: 2h}
    device  {offline_for: 30m}   {battery_low: true}
    event   {event: parcel_delivered}
    count   {at_least: 2, within: 10m, per: entrance, of: {kind: water_leak_sensor, ...}}

Every condition takes the selectors ``kind``, ``device`` and ``place``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from devices.durations import Duration
from devices.schema import ID_PATTERN, IntercomEvent

Severity = Literal["critical", "major", "minor", "warning", "info"]
Scope = Literal["unit", "floor", "entrance", "building", "neighbourhood"]
Scalar = bool | int | float | str
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SEVERITIES: tuple[str, ...] = ("critical", "major", "minor", "warning", "info")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Rate(Strict):
    """Change per ``per`` (default one hour): ``{above: 50, per: 1h}``."""

    above: float | None = None
    below: float | None = None
    per: Duration = 3600.0

    @model_validator(mode="after")
    def _one_bound(self) -> Rate:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above, below")
        return self


class ValueTest(Strict):
    """A test on one value: exactly one of is, in, above, below, between, changed, rate, missing.

    ``hysteresis`` keeps ``above``/``below``/``between`` true until the value comes
    back past the threshold by that much, so a noisy signal does not flap.
    """

    is_: Scalar | None = Field(default=None, alias="is")
    in_: list[Scalar] | None = Field(default=None, alias="in", min_length=1)
    above: float | None = None
    below: float | None = None
    between: tuple[float, float] | None = None
    hysteresis: float = Field(default=0.0, ge=0)
    changed: Literal[True] | None = None
    rate: Rate | None = None
    missing: Duration | None = None

    @model_validator(mode="after")
    def _one_test(self) -> ValueTest:
        tests = ("is_", "in_", "above", "below", "between", "changed", "rate", "missing")
        given = [t.rstrip("_") for t in tests if getattr(self, t) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of is, in, above, below, between, changed, rate, "
                             f"missing (got {', '.join(given) or 'none'})")
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError(f"between {list(self.between)} must be [low, high]")
        if self.hysteresis and given[0] not in ("above", "below", "between"):
            raise ValueError("hysteresis applies to above, below and between")
        return self

    @property
    def test_name(self) -> str:
        for name in ("is_", "in_", "above", "below", "between", "changed", "rate", "missing"):
            if getattr(self, name) is not None:
                return name.rstrip("_")
        raise AssertionError("validated to have one test")

    def test(self, value: object, was_true: bool = False) -> bool:
        """Whether ``value`` passes; ``was_true`` applies hysteresis. Wrong types never pass.

        ``changed``, ``rate`` and ``missing`` need history: the engine evaluates them.
        """
        if self.is_ is not None:
            return _same(value, self.is_)
        if self.in_ is not None:
            return any(_same(value, v) for v in self.in_)
        if not _is_number(value):
            return False
        v: float = value  # type: ignore[assignment]
        h = self.hysteresis if was_true else 0.0
        if self.above is not None:
            return v > self.above - h
        if self.below is not None:
            return v < self.below + h
        if self.between is not None:
            return self.between[0] - h <= v <= self.between[1] + h
        return False

    def describe(self) -> str:
        name = self.test_name
        value = getattr(self, name + "_" if name in ("is", "in") else name)
        if isinstance(value, Rate):
            bound = (f"above {value.above:g}" if value.above is not None
                     else f"below {value.below:g}")
            return f"rate {bound} per {value.per:g} s"
        text = f"{name} {_show(value)}"
        return text + (f" (hysteresis {self.hysteresis:g})" if self.hysteresis else "")


def _same(value: object, expected: object) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return type(value) is type(expected) and value == expected
    if _is_number(expected) and _is_number(value):
        return value == expected
    return type(value) is type(expected) and value == expected


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


class Selectors(Strict):
    kind: str | None = None
    device: str | None = None
    place: str | None = Field(default=None, description="only devices at or under this place")


class PointCondition(Selectors, ValueTest):
    point: str

    def describe(self) -> str:
        return f"{self.point} {ValueTest.describe(self)}"


class OfflineCondition(Selectors):
    offline_for: Duration

    def describe(self) -> str:
        return f"offline for {self.offline_for:g} s"


class BatteryLowCondition(Selectors):
    """``battery_low`` reported true, or ``battery`` below ``below`` percent."""

    battery_low: Literal[True]
    below: float = Field(default=15.0, ge=0, le=100)

    def describe(self) -> str:
        return f"battery low (or below {self.below:g} %)"


class EventCondition(Selectors):
    event: IntercomEvent
    match: dict[str, Scalar] = Field(default_factory=dict)

    def describe(self) -> str:
        return f"event {self.event}"


#: Union tags pydantic puts in error locations; the config loader strips them.
CONDITION_TAGS = frozenset({"PointCondition", "OfflineCondition", "BatteryLowCondition",
                            "EventCondition", "CountCondition"})


def _condition_tag(value: Any) -> str:
    if isinstance(value, dict):
        for key, tag in (("at_least", "CountCondition"), ("offline_for", "OfflineCondition"),
                         ("battery_low", "BatteryLowCondition"), ("event", "EventCondition")):
            if key in value:
                return tag
        return "PointCondition"
    return type(value).__name__


DeviceCondition = Annotated[
    Annotated[PointCondition, Tag("PointCondition")]
    | Annotated[OfflineCondition, Tag("OfflineCondition")]
    | Annotated[BatteryLowCondition, Tag("BatteryLowCondition")]
    | Annotated[EventCondition, Tag("EventCondition")],
    Discriminator(_condition_tag),
]


class CountCondition(Strict):
    """Several devices in one incident: ``at_least`` of them true ``within`` a window.

    Devices are grouped by their ancestor of kind ``per`` (an entrance by default);
    each group raises one alarm, whatever the number of devices in it.
    """

    at_least: int = Field(ge=2)
    within: Duration
    per: Literal["floor", "entrance", "building", "neighbourhood"] = "entrance"
    of: DeviceCondition

    def describe(self) -> str:
        return (f"at least {self.at_least} devices per {self.per} within {self.within:g} s: "
                f"{self.of.describe()}")


Condition = Annotated[
    Annotated[PointCondition, Tag("PointCondition")]
    | Annotated[OfflineCondition, Tag("OfflineCondition")]
    | Annotated[BatteryLowCondition, Tag("BatteryLowCondition")]
    | Annotated[EventCondition, Tag("EventCondition")]
    | Annotated[CountCondition, Tag("CountCondition")],
    Discriminator(_condition_tag),
]


class Schedule(Strict):
    """When a rule may raise: days of the week and a daily window, in the site's time zone."""

    days: list[Day] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri", "sat",
                                                     "sun"])
    from_: str = Field(default="00:00", alias="from", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    to: str = Field(default="24:00", pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")


class ClearCondition(ValueTest):
    """When an active alarm clears; the point defaults to the raising condition's."""

    point: str | None = None


class Text(Strict):
    """A template in French and English (Jinja2, sandboxed)."""

    fr: str
    en: str


class Clear(Strict):
    """How an alarm ends: a condition held ``for``, or ``after`` a fixed time (events)."""

    when: ClearCondition | None = None
    for_: Duration = Field(default=0.0, alias="for")
    after: Duration | None = None
    post_update: Text | str | None = None  # may use {{ duration }}

    @model_validator(mode="after")
    def _when_or_after(self) -> Clear:
        if self.when is not None and self.after is not None:
            raise ValueError("give clear.when (a condition) or clear.after (a delay), not both")
        return self


Reveal = Literal["device", "unit", "floor", "entrance", "building"]


class PostAction(Strict):
    """A post for residents. ``reveal`` caps how precisely it may say where: by default
    the floor (``a leak in the basement``), never the unit unless the rule allows it."""

    scope: Scope = "building"
    kind: Literal["alert", "notice"] = "alert"
    title: Text | str
    body: Text | str | None = None
    reveal: Reveal = "floor"


class NoticeAction(Strict):
    """A private notice to one unit's residents; ``unit`` is a template giving its place id
    (default: the device's own unit)."""

    unit: str | None = None
    title: Text | str
    body: Text | str | None = None


class HelpRequestAction(Strict):
    scope: Scope = "entrance"
    title: Text | str
    body: Text | str | None = None


class CommandAction(Strict):
    device: str
    point: str
    value: Scalar


class WebhookAction(Strict):
    url: str = Field(pattern=r"^https?://")
    method: Literal["POST", "PUT"] = "POST"
    body: str | None = None
    timeout: Duration = 5.0
    retries: int = Field(default=3, ge=0, le=10)


class RaiseActions(Strict):
    notify: Literal["managers", "none"] = "managers"
    on_call: bool = False
    post: PostAction | None = None
    notice: NoticeAction | None = None
    help_request: HelpRequestAction | None = None
    command: CommandAction | None = None
    webhook: WebhookAction | None = None


class Escalation(Strict):
    after: Duration
    notify: Literal["on_call", "managers"] = "on_call"
    help_request: HelpRequestAction | None = None


class Acknowledge(Strict):
    post_update: Text | str  # may use {{ note }} and {{ by }}


class Rule(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: Text | str | None = None
    when: Condition
    for_: Duration = Field(default=0.0, alias="for")
    during: Schedule | None = None
    severity: Severity = "major"
    cooldown: Duration = 0.0
    raise_: RaiseActions = Field(default_factory=RaiseActions, alias="raise")
    acknowledge: Acknowledge | None = None
    escalate: list[Escalation] = Field(default_factory=list)
    clear: Clear | None = None


class RuleFile(Strict):
    rules: list[Rule] = Field(default_factory=list)
