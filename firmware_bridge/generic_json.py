"""Generic JSON: any firmware that publishes one JSON object per device on a topic pattern.

The installer gives the pattern (``acme/{source}/data``) and, optionally, an
availability pattern (``acme/{source}/status``). ``{source}`` stands for exactly
one topic level, the device's name on this bridge, so each pattern becomes one
MQTT subscription filter with ``+`` in its place and matching stays two string
comparisons — no regex per message.

This family is the fallback for firmwares without a dedicated decoder (Tasmota
``tele/{source}/SENSOR``, door stations, in-house devices), so availability is
read in the spellings those firmwares use: ``online``/``offline``, ``true``/
``false``, ``1``/``0`` in any case (Tasmota's LWT says ``Offline``), or a JSON
object ``{"state": ...}`` / ``{"online": ...}``.
"""

from __future__ import annotations

from firmware_bridge.base import DecodeError
from firmware_bridge.flatten import describe, flatten, load_object, load_text
from firmware_bridge.records import (
    AvailabilityUpdate,
    Decoded,
    Ignored,
    RawMessage,
    StateUpdate,
)

SOURCE = "{source}"

_WORDS = {"online": True, "offline": False, "true": True, "false": False, "1": True, "0": False}
_EXPECTED = "online, offline, true, false, 1 or 0"

_CLEARED = Ignored("empty retained payload: a retained message was cleared")
_NO_SOURCE = Ignored("the {source} level of the topic is empty")


class TopicPattern:
    """A topic with one ``{source}`` level, matched by prefix and suffix.

    Raises ``ValueError`` at construction for a pattern MQTT could not subscribe to,
    so a bad bridge file fails at load time rather than by never receiving anything.
    """

    __slots__ = ("_cut", "_min_len", "_suffix_len", "filter", "pattern", "prefix", "suffix")

    def __init__(self, pattern: str) -> None:
        if pattern.count(SOURCE) != 1:
            raise ValueError(f"topic pattern {pattern!r} must contain {SOURCE} once")
        prefix, _, suffix = pattern.partition(SOURCE)
        if (prefix and not prefix.endswith("/")) or (suffix and not suffix.startswith("/")):
            raise ValueError(
                f"topic pattern {pattern!r}: {SOURCE} must be a whole topic level, between slashes"
            )
        if any(c in pattern for c in "+#"):
            raise ValueError(
                f"topic pattern {pattern!r} must not contain the MQTT wildcards + or #"
            )
        self.pattern = pattern
        self.prefix = prefix
        self.suffix = suffix
        #: The MQTT subscription filter: the pattern with ``+`` for ``{source}``.
        self.filter = f"{prefix}+{suffix}"
        self._cut = len(prefix)
        self._suffix_len = len(suffix)
        self._min_len = len(prefix) + len(suffix)

    def __repr__(self) -> str:
        return f"TopicPattern({self.pattern!r})"

    def source(self, topic: str) -> str | None:
        """The ``{source}`` level of ``topic`` (possibly empty); ``None`` if it does not match."""
        if (
            len(topic) < self._min_len
            or not topic.startswith(self.prefix)
            or not topic.endswith(self.suffix)
        ):
            return None
        source = topic[self._cut : len(topic) - self._suffix_len]
        return None if "/" in source else source


class GenericJsonDecoder:
    """Decode a JSON object per device on ``topic``, and availability on ``availability_topic``.

    When a topic matches both patterns, the state pattern wins: state is the
    traffic that matters, and the installer can always make the two disjoint.
    """

    __slots__ = ("_availability", "_state", "topic_filters")

    def __init__(self, topic: str, availability_topic: str | None = None) -> None:
        if availability_topic is not None and availability_topic == topic:
            raise ValueError(f"topic and availability_topic are both {topic!r}; they must differ")
        self._state = TopicPattern(topic)
        self._availability = (
            TopicPattern(availability_topic) if availability_topic is not None else None
        )
        filters = [self._state.filter]
        if self._availability is not None:
            filters.append(self._availability.filter)
        #: MQTT subscription filters that deliver every message this bridge reads.
        self.topic_filters: tuple[str, ...] = tuple(filters)

    def __repr__(self) -> str:
        availability = self._availability.pattern if self._availability else None
        return (
            f"GenericJsonDecoder(topic={self._state.pattern!r}, "
            f"availability_topic={availability!r})"
        )

    def decode(self, message: RawMessage) -> Decoded | None:
        """Turn one message into a record; ``None`` for a topic neither pattern matches.

        Raises ``DecodeError`` carrying the topic when the payload is bad.
        """
        topic = message.topic
        try:
            source = self._state.source(topic)
            if source is not None:
                payload = message.payload
                if source and payload:
                    return StateUpdate(source, flatten(load_object(payload)))
                return _blank(source, message)
            if self._availability is None:
                return None
            source = self._availability.source(topic)
            if source is None:
                return None
            payload = message.payload
            if source and payload:
                return AvailabilityUpdate(source, _online(payload))
            return _blank(source, message)
        except DecodeError as exc:
            raise DecodeError(exc.reason, topic=topic) from None


def _blank(source: str, message: RawMessage) -> Ignored:
    """A message with no device name or no payload: skipped, or refused if it cannot be a clear."""
    if not source:
        return _NO_SOURCE
    if message.retain:
        return _CLEARED
    raise DecodeError("empty payload")


def _online(payload: bytes) -> bool:
    text = load_text(payload).strip()
    if text[:1] in ("{", "["):
        obj = load_object(payload)
        if "state" in obj:
            value = obj["state"]
        elif "online" in obj:
            value = obj["online"]
        else:
            raise DecodeError('availability object has neither a "state" nor an "online" key')
    else:
        value = text
    online = _availability_value(value)
    if online is None:
        raise DecodeError(f"availability must be {_EXPECTED}, got {describe(value)}")
    return online


def _availability_value(value: object) -> bool | None:
    if isinstance(value, bool):  # before int: True is an int too
        return value
    if isinstance(value, str):
        return _WORDS.get(value.strip().lower())
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    return None
