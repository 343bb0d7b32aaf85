"""Intercoms and door stations: JSON messages turned into building events.

Door stations do not report a state; they report that something happened — a
visitor rang, the door opened, a parcel went into a locker, a badge was refused.
Each vendor spells it differently (a TCS bus gateway such as Doorman publishes
``{"telegram":"1100","type":"open_door",...}``, a generic station
``{"event":"parcel","locker":"12"}``), so the installer maps payloads to Palier's
four events in YAML::

    events:
      - match: {type: open_door}
        event: door_opened
      - match: {event: access_denied}
        event: badge_refused
        data: {badge: badge}

The first mapping whose every ``match`` path has the given value wins, and
``data`` copies the values at the given paths (``None`` when the payload lacks
one). Paths are the dotted paths of ``flatten``, the same an installer writes for
points.

Numbers and strings are compared by text too: a firmware that publishes
``"1100"`` and an installer who wrote ``telegram: 1100`` unquoted (or the
reverse) mean the same telegram, and YAML quoting is too easy to get wrong for it
to decide whether a door opens. Booleans only ever equal booleans, since
``true == 1`` in Python would match flags against counters.

A payload that no mapping matches is skipped with a reason naming the values the
mappings look at, not refused: door buses carry much chatter (talk start/stop,
light, device discovery) that is valid but not an event of interest. Only a
payload that is not a JSON object is a ``DecodeError``.

Availability, when the station publishes it, is read as the generic JSON family
reads it, by composing a ``GenericJsonDecoder``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from devices.schema import EventMapping
from firmware_bridge.flatten import describe
from firmware_bridge.generic_json import GenericJsonDecoder
from firmware_bridge.records import Decoded, DeviceEvent, Ignored, RawMessage, Scalar, StateUpdate

#: Values shown in the reason of an unmatched payload; more are cut short.
_SHOWN_VALUES = 5

_MISSING = object()

#: One ``match`` entry: (path, the YAML value, that value as text if it is a number).
_Condition = tuple[str, bool | int | float | str, str | None]


class _Mapping:
    """One ``EventMapping`` prepared for matching: conditions and data paths as tuples."""

    __slots__ = ("conditions", "data", "event")

    def __init__(self, mapping: EventMapping) -> None:
        self.event: str = mapping.event
        self.conditions: tuple[_Condition, ...] = tuple(
            (path, value, _number_text(value)) for path, value in mapping.match.items()
        )
        self.data: tuple[tuple[str, str], ...] = tuple(mapping.data.items())

    def matches(self, values: Mapping[str, Scalar]) -> bool:
        for path, expected, expected_text in self.conditions:
            value = values.get(path, _MISSING)
            cls = type(value)
            if cls is bool or type(expected) is bool:
                if value is not expected:
                    return False
            elif value == expected:
                continue
            elif cls is str:
                if value != expected_text:
                    return False
            elif cls is int or cls is float:
                if type(expected) is not str or _number_text(value) != expected:
                    return False
            else:
                return False
        return True


class IntercomDecoder:
    """Decode door-station messages on ``topic`` into ``DeviceEvent`` records.

    Raises ``ValueError`` at construction for a pattern MQTT could not subscribe to,
    or when the two patterns are the same.
    """

    __slots__ = ("_json", "_mappings", "_paths", "topic_filters")

    def __init__(
        self,
        topic: str,
        events: Sequence[EventMapping],
        availability_topic: str | None = None,
    ) -> None:
        if not events:
            raise ValueError("an intercom bridge needs at least one event mapping under events")
        self._json = GenericJsonDecoder(topic, availability_topic)
        self._mappings = tuple(_Mapping(m) for m in events)
        # every path a mapping looks at, in order, for the reason of an unmatched payload
        self._paths = tuple(dict.fromkeys(p for m in events for p in m.match))
        #: MQTT subscription filters that deliver every message this bridge reads.
        self.topic_filters: tuple[str, ...] = self._json.topic_filters

    def __repr__(self) -> str:
        events = [m.event for m in self._mappings]
        return f"IntercomDecoder({self._json!r}, events={events})"

    def decode(self, message: RawMessage) -> Decoded | None:
        """Turn one message into an event, an availability, or a skip with its reason.

        ``None`` for a topic neither pattern matches; raises ``DecodeError`` carrying
        the topic for a payload that is not a JSON object.
        """
        record = self._json.decode(message)
        if type(record) is not StateUpdate:
            return record
        values = record.values
        for mapping in self._mappings:
            if mapping.matches(values):
                return DeviceEvent(
                    record.source,
                    mapping.event,
                    {name: values.get(path) for name, path in mapping.data},
                )
        return Ignored(self._unmatched(values))

    def _unmatched(self, values: Mapping[str, Scalar]) -> str:
        shown = [f"{p}={describe(values[p])}" for p in self._paths if p in values]
        if not shown:
            paths = ", ".join(self._paths[:_SHOWN_VALUES])
            more = ", …" if len(self._paths) > _SHOWN_VALUES else ""
            return f"no event mapping matches: the payload has none of the paths {paths}{more}"
        more = ", …" if len(shown) > _SHOWN_VALUES else ""
        return f"no event mapping matches: {', '.join(shown[:_SHOWN_VALUES])}{more}"


def _number_text(value: object) -> str | None:
    """A number as firmware writes it in text (``1100``, ``21.5``); ``None`` for the rest."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return None
