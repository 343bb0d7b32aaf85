"""A bridge's ``format`` mapped to the decoder that reads its traffic.

Registration is this one explicit dict, not decorators run at import: what the
gateway can decode is readable in one place, and importing a family module has
no side effect.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, cast

from devices.schema import (
    BinaryBridge,
    BridgeSpec,
    DeviceSpec,
    EsphomeBridge,
    IntercomBridge,
    JsonBridge,
    ShellyGen2Bridge,
    TasmotaBridge,
    TtnV3Bridge,
    Zigbee2MqttBridge,
)
from firmware_bridge.base import Decoder, Encoder
from firmware_bridge.esphome import EsphomeDecoder
from firmware_bridge.generic_json import GenericJsonDecoder
from firmware_bridge.intercom import IntercomDecoder
from firmware_bridge.raw_binary import RawBinaryDecoder
from firmware_bridge.shelly_gen2 import ShellyGen2Decoder
from firmware_bridge.tasmota import TasmotaDecoder
from firmware_bridge.ttn_v3 import TtnV3Decoder
from firmware_bridge.zigbee2mqtt import Zigbee2MqttDecoder


def _zigbee2mqtt(spec: Zigbee2MqttBridge) -> Decoder:
    return Zigbee2MqttDecoder(spec.base_topic or "zigbee2mqtt")


def _json(spec: JsonBridge) -> Decoder:
    if not spec.topic:
        raise ValueError("a json bridge needs topic, a pattern such as acme/{source}/data")
    return GenericJsonDecoder(spec.topic, spec.availability_topic)


def _ttn_v3(spec: TtnV3Bridge, devices: Sequence[DeviceSpec] = ()) -> Decoder:
    """The bridge's layouts, and each device's own, keyed by its device_id (its source)."""
    device_layouts = {d.source: d.layouts for d in devices if d.layouts}
    return TtnV3Decoder(spec.application, spec.layouts, device_layouts)


def _binary(spec: BinaryBridge) -> Decoder:
    return RawBinaryDecoder(spec.topic, spec.layout)


def _intercom(spec: IntercomBridge) -> Decoder:
    return IntercomDecoder(spec.topic, spec.events, spec.availability_topic)


def _tasmota(spec: TasmotaBridge) -> Decoder:
    return TasmotaDecoder(spec.prefixes or None)


def _shelly_gen2(spec: ShellyGen2Bridge) -> Decoder:
    return ShellyGen2Decoder()


def _esphome(spec: EsphomeBridge) -> Decoder:
    return EsphomeDecoder()


FAMILIES: dict[str, Callable[[Any], Decoder]] = {
    "zigbee2mqtt": _zigbee2mqtt,
    "json": _json,
    "ttn_v3": _ttn_v3,
    "binary": _binary,
    "intercom": _intercom,
    "tasmota": _tasmota,
    "shelly_gen2": _shelly_gen2,
    "esphome": _esphome,
}


def make_decoder(spec: BridgeSpec, devices: Sequence[DeviceSpec] = ()) -> Decoder:
    """Build the decoder for one bridge; ``devices`` are the bridge file's devices.

    A factory that declares a ``devices`` parameter receives them (ttn_v3 reads each
    device's own layouts); the others are called with the spec alone.

    Raises ``ValueError`` naming the bridge for an unknown format or a topic the
    family cannot subscribe to, so the caller reports it as a configuration error.
    """
    factory = FAMILIES.get(spec.format)
    if factory is None:
        known = ", ".join(sorted(FAMILIES))
        raise ValueError(f"bridge {spec.id!r}: unknown format {spec.format!r}; known: {known}")
    try:
        if "devices" in inspect.signature(factory).parameters:
            return factory(spec, devices=devices)  # type: ignore[call-arg]
        return factory(spec)
    except ValueError as exc:
        raise ValueError(f"bridge {spec.id!r}: {exc}") from exc


def make_encoder(spec: BridgeSpec, decoder: Decoder) -> Encoder | None:
    """The encoder of a bridge's commands: its decoder, when the family takes commands.

    A family's decoder and encoder are one object because both read the same
    configuration (base topic, prefixes); ``None`` means the family has no commands
    (sensors only, uplinks), which the caller reports against the point being set.
    ``spec`` is taken so a bridge can later be made read-only without changing callers.
    """
    if callable(getattr(decoder, "encode", None)):
        return cast(Encoder, decoder)
    return None


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
