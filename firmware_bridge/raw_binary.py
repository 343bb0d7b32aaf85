"""Raw binary frames: devices that publish packed bytes on a topic pattern, no JSON.

Typical of in-house sensor boards and of gateways that forward radio frames as
they are (wM-Bus, 868 MHz proprietary). The installer gives the topic pattern with
its ``{source}`` level, as for generic JSON, and the layout of the frame; the
layout is compiled once, so a frame costs one ``struct`` unpack and a few
arithmetic steps.
"""

from __future__ import annotations

from firmware_bridge.base import MAX_PAYLOAD_BYTES, DecodeError
from firmware_bridge.binary_layout import CompiledLayout
from firmware_bridge.generic_json import TopicPattern
from firmware_bridge.layout_schema import Layout
from firmware_bridge.records import Decoded, Ignored, RawMessage, StateUpdate

_CLEARED = Ignored("empty retained payload: a retained message was cleared")
_NO_SOURCE = Ignored("the {source} level of the topic is empty")


class RawBinaryDecoder:
    """Decode one binary frame per message on ``topic`` with ``layout``.

    Raises ``ValueError`` at construction for a pattern MQTT could not subscribe to
    or a layout that could not give finite values.
    """

    __slots__ = ("_layout", "_pattern", "topic_filters")

    def __init__(self, topic: str, layout: Layout) -> None:
        self._pattern = TopicPattern(topic)
        self._layout = CompiledLayout(layout)
        #: MQTT subscription filters that deliver every message this bridge reads.
        self.topic_filters: tuple[str, ...] = (self._pattern.filter,)

    def __repr__(self) -> str:
        return f"RawBinaryDecoder(topic={self._pattern.pattern!r}, layout={self._layout!r})"

    def decode(self, message: RawMessage) -> Decoded | None:
        """Turn one frame into a record; ``None`` for a topic the pattern does not match.

        An empty retained payload is a cleared retained message, skipped; an empty
        live one is a fault, refused with the same reason every family gives.
        Raises ``DecodeError`` carrying the topic when the frame cannot be read.
        """
        topic = message.topic
        source = self._pattern.source(topic)
        if source is None:
            return None
        if not source:
            return _NO_SOURCE
        payload = message.payload
        try:
            if not payload:
                if message.retain:
                    return _CLEARED
                raise DecodeError("empty payload")
            size = len(payload)
            if size > MAX_PAYLOAD_BYTES:
                raise DecodeError(
                    f"payload of {size} bytes exceeds the {MAX_PAYLOAD_BYTES}-byte limit"
                )
            return StateUpdate(source, self._layout.decode(payload))
        except DecodeError as exc:
            raise DecodeError(exc.reason, topic=topic) from None
