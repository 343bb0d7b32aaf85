"""The installer's YAML for a bridge and its devices (``config/bridges/*.yaml``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from devices.durations import Duration
from devices.kinds import KINDS
from firmware_bridge.generic_json import TopicPattern
from firmware_bridge.zigbee2mqtt import Zigbee2MqttDecoder

ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PointSpec(Strict):
    """A point a device reports; ``path`` is a dotted path in the payload (default: its name)."""

    path: str | None = None
    type: Literal["bool", "number", "text"] | None = None
    unit: str | None = None
    scale: float = 1.0
    offset: float = 0.0


class DeviceSpec(Strict):
    id: str = Field(pattern=ID_PATTERN)
    source: str = Field(min_length=1, description="the device's name on its bridge")
    kind: str
    place: str = Field(min_length=1, description="a place id from site.yaml, e.g. lilas/b/basement")
    name: str | None = None
    offline_after: Duration | None = None
    points: dict[str, PointSpec] = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in KINDS:
            known = ", ".join(sorted(KINDS))
            raise ValueError(f"unknown device kind {kind!r}; known kinds: {known}")
        return kind


class BridgeSpec(Strict):
    id: str = Field(pattern=ID_PATTERN)
    format: Literal["zigbee2mqtt", "json"]
    base_topic: str | None = Field(
        default=None, description="zigbee2mqtt: the bridge's base topic (default zigbee2mqtt)"
    )
    topic: str | None = Field(
        default=None,
        description="json: a topic pattern with {source} for the device name: acme/{source}/data",
    )
    availability_topic: str | None = Field(
        default=None, description="json: a topic pattern with {source}, payload online/offline"
    )

    @model_validator(mode="after")
    def _topics_fit_format(self) -> BridgeSpec:
        if self.format == "json":
            if not self.topic:
                raise ValueError("a json bridge needs topic: a pattern such as acme/{source}/data")
            for pattern in (self.topic, self.availability_topic):
                if pattern is not None:
                    TopicPattern(pattern)  # raises ValueError with the reason
        elif self.topic or self.availability_topic:
            raise ValueError("topic and availability_topic are for json bridges; use base_topic")
        elif self.base_topic is not None:
            Zigbee2MqttDecoder(self.base_topic)  # raises ValueError with the reason
        return self


class BridgeFile(Strict):
    bridge: BridgeSpec
    devices: list[DeviceSpec] = Field(default_factory=list)
