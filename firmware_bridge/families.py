"""A bridge's ``format`` mapped to the decoder that reads its traffic.

Registration is this one explicit dict, not decorators run at import: what the
gateway can decode is readable in one place, and importing a family module has
no side effect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devices.schema import BridgeSpec, JsonBridge, Zigbee2MqttBridge
from firmware_bridge.base import Decoder
from firmware_bridge.generic_json import GenericJsonDecoder
from firmware_bridge.zigbee2mqtt import Zigbee2MqttDecoder


def _zigbee2mqtt(spec: Zigbee2MqttBridge) -> Decoder:
    return Zigbee2MqttDecoder(spec.base_topic or "zigbee2mqtt")


def _json(spec: JsonBridge) -> Decoder:
    if not spec.topic:
        raise ValueError("a json bridge needs topic, a pattern such as acme/{source}/data")
    return GenericJsonDecoder(spec.topic, spec.availability_topic)


FAMILIES: dict[str, Callable[[Any], Decoder]] = {
    "zigbee2mqtt": _zigbee2mqtt,
    "json": _json,
}


def make_decoder(spec: BridgeSpec) -> Decoder:
    """Build the decoder for one bridge.

    Raises ``ValueError`` naming the bridge for an unknown format or a topic the
    family cannot subscribe to, so the caller reports it as a configuration error.
    """
    factory = FAMILIES.get(spec.format)
    if factory is None:
        known = ", ".join(sorted(FAMILIES))
        raise ValueError(f"bridge {spec.id!r}: unknown format {spec.format!r}; known: {known}")
    try:
        return factory(spec)
    except ValueError as exc:
        raise ValueError(f"bridge {spec.id!r}: {exc}") from exc


def topic_filters(decoder: Decoder) -> tuple[str, ...]:
    """The MQTT subscription filters a decoder needs.

    ``Decoder`` itself only promises ``decode``; every family here also declares
    ``topic_filters``. A decoder without any would never receive a message, which
    is a wiring bug worth failing loudly on.
    """
    filters = getattr(decoder, "topic_filters", None)
    if not filters:
        raise TypeError(f"{type(decoder).__name__} declares no topic_filters to subscribe to")
    return tuple(filters)
