"""Tasmota: telemetry under ``tele``, command results under ``stat``, commands under ``cmnd``.

With Tasmota's default full topic ``%prefix%/%topic%/`` a device publishes::

    tele/<topic>/SENSOR      sensor readings (JSON)             -> StateUpdate
    tele/<topic>/STATE       relays, Wi-Fi, uptime (JSON)       -> StateUpdate
    tele/<topic>/LWT         Online / Offline, retained         -> AvailabilityUpdate
    stat/<topic>/RESULT      a command's result (JSON)          -> StateUpdate
    stat/<topic>/POWER[<n>]  a relay's new state, ON / OFF      -> StateUpdate
    stat/<topic>/...         STATUS<n>, UPGRADE, ...            -> Ignored
    tele/<topic>/...         INFO<n>, MARGINS, ...              -> Ignored

and reads commands on ``cmnd/<topic>/<command>``. A device's source is its
%topic%. The three prefixes can be renamed (``Prefix1..3``), so they are
constructor arguments; they must stay apart, or Palier would read its own
commands back as state.

Sensor objects stay where Tasmota puts them, as dotted paths
(``AM2301.Temperature``, ``ENERGY.Power``): the sensor's name is how an installer
tells two probes apart. ``Time`` is dropped: it is the device's clock at
publication, not a reading, and a device with a wrong clock would otherwise
feed rules a misleading text.
"""

from __future__ import annotations

from collections.abc import Mapping

from firmware_bridge.base import DecodeError
from firmware_bridge.commands import number_text, topic_level
from firmware_bridge.flatten import describe, flatten, load_object, load_text
from firmware_bridge.records import (
    AvailabilityUpdate,
    Command,
    Decoded,
    Ignored,
    OutgoingMessage,
    RawMessage,
    Scalar,
    StateUpdate,
)

#: Tasmota's factory prefixes (``Prefix1``, ``Prefix2``, ``Prefix3``).
DEFAULT_PREFIXES: Mapping[str, str] = {"cmnd": "cmnd", "stat": "stat", "tele": "tele"}

_LWT = {"online": True, "offline": False}
_POWER = {"on": "ON", "off": "OFF"}
_TIME = "Time"

_CLEARED = Ignored("empty retained payload: a retained message was cleared")
_NO_TOPIC = Ignored("no device %topic% in the topic")


class TasmotaDecoder:
    """Decode what Tasmota devices publish under ``tele`` and ``stat``; encode ``cmnd`` commands.

    Pure and stateless: every Tasmota message carries the whole reading it reports.
    """

    __slots__ = ("_cmnd", "_prefixes", "_stat", "_stat_cut", "_tele", "_tele_cut", "topic_filters")

    def __init__(self, prefixes: Mapping[str, str] | None = None) -> None:
        given = dict(prefixes or {})
        unknown = sorted(set(given) - set(DEFAULT_PREFIXES))
        if unknown:
            raise ValueError(f"tasmota prefixes {unknown} are unknown; known: cmnd, stat, tele")
        merged = {**DEFAULT_PREFIXES, **given}
        for name, prefix in merged.items():
            _check_prefix(name, prefix)
        _check_apart(merged)
        self._prefixes = merged
        self._cmnd = merged["cmnd"]
        self._tele = merged["tele"] + "/"
        self._stat = merged["stat"] + "/"
        self._tele_cut = len(self._tele)
        self._stat_cut = len(self._stat)
        tele, stat = merged["tele"], merged["stat"]
        #: MQTT subscription filters; ``stat/+/+`` because relays answer on POWER1..POWER32.
        self.topic_filters: tuple[str, ...] = (
            f"{tele}/+/SENSOR",
            f"{tele}/+/STATE",
            f"{tele}/+/LWT",
            f"{stat}/+/+",
        )

    @property
    def prefixes(self) -> Mapping[str, str]:
        return dict(self._prefixes)

    def __repr__(self) -> str:
        return f"TasmotaDecoder(prefixes={self._prefixes!r})"

    def decode(self, message: RawMessage) -> Decoded | None:
        """Turn one message into a record; ``None`` for a topic outside ``tele`` and ``stat``.

        Raises ``DecodeError`` carrying the topic when the payload is bad.
        """
        topic = message.topic
        if topic.startswith(self._tele):
            rest, tele = topic[self._tele_cut :], True
        elif topic.startswith(self._stat):
            rest, tele = topic[self._stat_cut :], False
        else:
            return None
        source, slash, kind = rest.partition("/")
        if not slash or "/" in kind:
            return None  # not `%prefix%/%topic%/<one level>`: another firmware's topic
        if not source:
            return _NO_TOPIC
        try:
            payload = message.payload
            if tele:
                if kind == "SENSOR" or kind == "STATE":
                    if payload:
                        return StateUpdate(source, _readings(payload))
                    return _empty(message)
                if kind == "LWT":
                    if payload:
                        return AvailabilityUpdate(source, _lwt(payload))
                    return _empty(message)
                return Ignored(f"tele/{kind} is not read (only SENSOR, STATE and LWT)")
            if kind == "RESULT":
                if payload:
                    return StateUpdate(source, _readings(payload))
                return _empty(message)
            if _is_power(kind):
                if payload:
                    return StateUpdate(source, {kind: _power(kind, payload)})
                return _empty(message)
            return Ignored(f"stat/{kind} is not read (only RESULT and POWER<n>)")
        except DecodeError as exc:
            raise DecodeError(exc.reason, topic=topic) from None

    def encode(self, command: Command) -> list[OutgoingMessage]:
        """``cmnd/<topic>/<path>`` with ``ON``/``OFF`` for a boolean, else the number or text.

        Raises ``EncodeError`` for a source or path that is not one topic level, or a
        value Tasmota cannot read (``null``, ``nan``).
        """
        source = topic_level("tasmota %topic% (the command's source)", command.source)
        path = topic_level("tasmota command (the command's path)", command.path)
        value = command.value
        if type(value) is bool:
            payload = b"ON" if value else b"OFF"
        elif type(value) is str:
            payload = value.encode()
        else:
            payload = number_text(path, value)
        return [OutgoingMessage(f"{self._cmnd}/{source}/{path}", payload)]


def _readings(payload: bytes) -> dict[str, Scalar]:
    obj = load_object(payload)
    obj.pop(_TIME, None)
    return flatten(obj)


def _is_power(kind: str) -> bool:
    """``POWER`` or ``POWER<n>``: the relays Tasmota reports one topic each."""
    if not kind.startswith("POWER"):
        return False
    index = kind[5:]
    return not index or (index.isascii() and index.isdigit())


def _power(kind: str, payload: bytes) -> str:
    """``ON``/``OFF`` as STATE and RESULT spell it, so one point mapping reads all three."""
    text = load_text(payload).strip()
    power = _POWER.get(text.lower())
    if power is None:
        raise DecodeError(f"{kind} must be ON or OFF, got {describe(text)}")
    return power


def _lwt(payload: bytes) -> bool:
    text = load_text(payload).strip()
    online = _LWT.get(text.lower())
    if online is None:
        raise DecodeError(f"LWT must be Online or Offline, got {describe(text)}")
    return online


def _empty(message: RawMessage) -> Ignored:
    """An empty retained payload clears a retained message (LWT); an empty live one is a fault."""
    if message.retain:
        return _CLEARED
    raise DecodeError("empty payload")


def _check_prefix(name: str, prefix: object) -> None:
    if type(prefix) is not str or not prefix:
        raise ValueError(f"tasmota prefix {name} must be a non-empty text, got {prefix!r}")
    if prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
        raise ValueError(f"tasmota prefix {name} {prefix!r} must not start or end with '/'"
                         " nor hold an empty level")
    if "+" in prefix or "#" in prefix or "\x00" in prefix:
        raise ValueError(f"tasmota prefix {name} {prefix!r} must not contain +, # or NUL")


def _check_apart(prefixes: Mapping[str, str]) -> None:
    """Refuse prefixes that share topics: one prefix equal to, or levels above, another.

    ``cmnd`` equal to ``stat`` would make Palier read its own commands as state, and
    nested prefixes would make one topic mean two things.
    """
    names = sorted(prefixes)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            a, b = prefixes[first], prefixes[second]
            if a == b or a.startswith(b + "/") or b.startswith(a + "/"):
                raise ValueError(
                    f"tasmota prefixes {first}={a!r} and {second}={b!r} overlap; they must differ"
                )
