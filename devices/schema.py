"""The installer's YAML for a bridge and its devices (``config/bridges/*.yaml``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from devices.durations import Duration
from devices.kinds import KINDS
from firmware_bridge.generic_json import TopicPattern
from firmware_bridge.layout_schema import Layout
from firmware_bridge.zigbee2mqtt import Zigbee2MqttDecoder

ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PointSpec(Strict):
    """How one vendor field becomes a canonical point.

    ``path`` is a dotted path in the decoded payload (default: the point's name);
    ``map`` translates vendor values first (``"ON": true``); then ``from_unit``
    converts to the point's canonical unit, then ``scale`` and ``offset`` apply;
    a value outside ``range`` is rejected, never stored as a plausible value.
    """

    path: str | None = None
    type: Literal["bool", "number", "text"] | None = None
    unit: str | None = None
    from_unit: str | None = None
    scale: float = 1.0
    offset: float = 0.0
    map: dict[str, bool | int | float | str] | None = None
    range: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _range_ordered(self) -> PointSpec:
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError(f"range {list(self.range)} must be [low, high]")
        return self


class DeviceSpec(Strict):
    id: str = Field(pattern=ID_PATTERN)
    source: str = Field(min_length=1, description="the device's name on its bridge")
    kind: str
    place: str = Field(min_length=1, description="a place id from site.yaml, e.g. lilas/b/basement")
    name: str | None = None
    offline_after: Duration | None = None
    points: dict[str, PointSpec] = Field(default_factory=dict)
    layouts: dict[int, Layout] = Field(
        default_factory=dict, description="ttn_v3: frm_payload layouts by f_port, for this device"
    )

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in KINDS:
            known = ", ".join(sorted(KINDS))
            raise ValueError(f"unknown device kind {kind!r}; known kinds: {known}")
        return kind


def _check_pattern(pattern: str) -> str:
    TopicPattern(pattern)  # raises ValueError with the reason
    return pattern


TopicPatternText = Annotated[str, AfterValidator(_check_pattern)]


class _Bridge(Strict):
    id: str = Field(pattern=ID_PATTERN)


class Zigbee2MqttBridge(_Bridge):
    format: Literal["zigbee2mqtt"]
    base_topic: str = "zigbee2mqtt"

    @field_validator("base_topic")
    @classmethod
    def _valid_base(cls, base: str) -> str:
        Zigbee2MqttDecoder(base)  # raises ValueError with the reason
        return base


class TasmotaBridge(_Bridge):
    """Tasmota's default full topic ``%prefix%/%topic%/``; a device's source is its %topic%."""

    format: Literal["tasmota"]
    prefixes: dict[Literal["cmnd", "stat", "tele"], str] = Field(default_factory=dict)


class ShellyGen2Bridge(_Bridge):
    """Shelly Gen2+ devices; a device's source is its MQTT topic prefix (its id by default)."""

    format: Literal["shelly_gen2"]


class EsphomeBridge(_Bridge):
    """ESPHome nodes; a device's source is the node's topic prefix (its name by default)."""

    format: Literal["esphome"]


class TtnV3Bridge(_Bridge):
    """The Things Stack v3 uplinks; a device's source is its ``device_id``."""

    format: Literal["ttn_v3"]
    application: str = Field(default="+", description="app-id@tenant-id, or + for all")
    layouts: dict[int, Layout] = Field(default_factory=dict,
                                       description="frm_payload layouts by f_port")


class BinaryBridge(_Bridge):
    format: Literal["binary"]
    topic: TopicPatternText
    layout: Layout


class JsonBridge(_Bridge):
    format: Literal["json"]
    topic: TopicPatternText
    availability_topic: TopicPatternText | None = None


IntercomEvent = Literal["call", "door_opened", "parcel_delivered", "badge_refused"]


class EventMapping(Strict):
    """``match``: dotted paths and the values they must have; ``data``: fields to keep."""

    match: dict[str, bool | int | float | str] = Field(min_length=1)
    event: IntercomEvent
    data: dict[str, str] = Field(default_factory=dict)


class IntercomBridge(_Bridge):
    format: Literal["intercom"]
    topic: TopicPatternText
    availability_topic: TopicPatternText | None = None
    events: list[EventMapping] = Field(min_length=1)


BridgeSpec = Annotated[
    Zigbee2MqttBridge | TasmotaBridge | ShellyGen2Bridge | EsphomeBridge | TtnV3Bridge
    | BinaryBridge | JsonBridge | IntercomBridge,
    Field(discriminator="format"),
]

BRIDGE_FORMATS: tuple[str, ...] = (
    "zigbee2mqtt", "tasmota", "shelly_gen2", "esphome", "ttn_v3", "binary", "json", "intercom",
)


class BridgeFile(Strict):
    bridge: BridgeSpec
    devices: list[DeviceSpec] = Field(default_factory=list)
