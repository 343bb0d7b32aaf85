"""Which bridge a message belongs to when several bridges' filters match its topic."""

from __future__ import annotations

from devices.registry import DeviceRegistry
from devices.schema import BridgeFile
from firmware_bridge.base import DecodeError
from firmware_bridge.records import AvailabilityUpdate, Decoded, RawMessage
from gateway.pipeline import Pipeline
from rules.engine import RuleEngine


class Claims:
    """A fake family that reads every topic as availability of ``source``."""

    def __init__(self, source: str) -> None:
        self.source = source

    def decode(self, message: RawMessage) -> Decoded | None:
        return AvailabilityUpdate(self.source, True)


class Refuses:
    def decode(self, message: RawMessage) -> Decoded | None:
        raise DecodeError("not for me")


REGISTRY = DeviceRegistry([BridgeFile.model_validate({
    "bridge": {"id": "known", "format": "esphome"},
    "devices": [{"id": "node", "source": "node-1", "kind": "co2_sensor", "place": "x"}],
})])
MESSAGE = RawMessage("node-1/status", b"online", 1, False, 5.0)


def pipeline(*routes) -> Pipeline:
    return Pipeline(list(routes), REGISTRY, RuleEngine([], REGISTRY, {}))


def test_a_configured_device_wins_over_an_earlier_bridge_claiming_a_stranger() -> None:
    p = pipeline(("other", Claims("homeassistant")), ("known", Claims("node-1")))
    p.process_one(MESSAGE)
    assert p.health["node"].state == "online"
    assert p.unclaimed.entries() == []


def test_a_decode_error_beats_an_unclaimed_record() -> None:
    p = pipeline(("other", Claims("stranger")), ("known", Refuses()))
    p.process_one(MESSAGE)
    assert [d.reason for d in p.dead_letters] == ["not for me"]


def test_a_stranger_alone_is_listed_as_unclaimed() -> None:
    p = pipeline(("other", Claims("stranger")))
    p.process_one(MESSAGE)
    assert [(e.bridge_id, e.source) for e in p.unclaimed.entries()] == [("other", "stranger")]


def test_a_flooding_device_is_rate_limited_and_reported_once_a_minute() -> None:
    from gateway.flood import FloodGuard

    p = Pipeline([("known", Claims("node-1"))], REGISTRY, RuleEngine([], REGISTRY, {}),
                 flood=FloodGuard(rate=10, burst=20))
    for i in range(1000):  # 1,000 messages within one second
        p.process_one(RawMessage("node-1/status", b"online", 1, False, 100.0 + i / 1000))
    assert p.stats.rejected["rate limited"] == 1000 - 20 - 9  # the burst and 10/s got through
    reports = [d.reason for d in p.dead_letters]
    assert len(reports) == 1 and reports[0].startswith("rate limited: known/node-1")
    later = RawMessage("node-1/status", b"online", 1, False, 102.0)
    p.process_one(later)
    assert p.health["node"].state == "online"
