"""Per-topic traffic counters: the one-minute window, the bound on memory, and claims that
agree with what the pipeline really does with each message."""

from __future__ import annotations

import json

import pytest

from devices.registry import DeviceRegistry
from firmware_bridge.records import RawMessage
from gateway.config.loader import load_installation
from gateway.pipeline import Pipeline
from gateway.runtime import build_routes
from gateway.traffic import KEPT_PAYLOAD, TopicTraffic, classify
from rules.engine import RuleEngine
from tests.integration.harness import INSTALLATION

T0 = 1_773_129_600.0  # a multiple of 5 s: bucket edges fall on whole offsets


def messages(topic: str, *times: float, payload: bytes = b"{}") -> list[RawMessage]:
    return [RawMessage(topic, payload, 1, False, at) for at in times]


def by_topic(traffic: TopicTraffic, now: float) -> dict[str, tuple[int, int]]:
    return {s.topic: (s.last_minute, s.total) for s in traffic.snapshot(now)}


def test_the_last_minute_counts_recent_messages_and_forgets_older_ones() -> None:
    traffic = TopicTraffic()
    traffic.record(messages("a", T0, T0 + 1, T0 + 2))  # bucket 0
    traffic.record(messages("a", T0 + 31))  # bucket 6
    traffic.record(messages("b", T0 + 59.5))  # bucket 11

    assert by_topic(traffic, T0 + 59.9) == {"a": (4, 4), "b": (1, 1)}
    # At T0 + 60 bucket 0 has left the window; at T0 + 95 bucket 6 has too.
    assert by_topic(traffic, T0 + 60) == {"a": (1, 4), "b": (1, 1)}
    assert by_topic(traffic, T0 + 95) == {"a": (0, 4), "b": (1, 1)}
    assert by_topic(traffic, T0 + 500) == {"a": (0, 4), "b": (0, 1)}

    # The window moves with the messages too: a burst long after empties every old bucket.
    traffic.record(messages("a", T0 + 200, T0 + 201))
    assert by_topic(traffic, T0 + 201) == {"a": (2, 6), "b": (0, 1)}
    traffic.record(messages("a", T0 + 212))  # two buckets on, the one between stays empty
    assert by_topic(traffic, T0 + 212) == {"a": (3, 7), "b": (0, 1)}


def test_a_flood_of_random_topics_keeps_memory_bounded() -> None:
    traffic = TopicTraffic(capacity=50)
    for i in range(5000):
        traffic.record(messages(f"spam/{i}", T0 + i * 0.01))
    traffic.record(messages("spam/4999", T0 + 60))

    assert len(traffic) == 50
    assert traffic.forgotten == 4950
    assert traffic.total == 5001
    newest = traffic.snapshot(T0 + 60)
    assert newest[0].topic == "spam/4999" and newest[0].total == 2
    assert {s.topic for s in newest} == {f"spam/{i}" for i in range(4950, 5000)}


def test_the_topic_heard_least_recently_is_the_one_forgotten() -> None:
    traffic = TopicTraffic(capacity=2)
    traffic.record(messages("old", T0))
    traffic.record(messages("busy", T0 + 1))
    traffic.record(messages("old", T0 + 10))  # heard again, a bucket later
    traffic.record(messages("new", T0 + 11))

    assert [s.topic for s in traffic.snapshot(T0 + 11)] == ["new", "old"]


def test_large_payloads_are_counted_not_kept() -> None:
    traffic = TopicTraffic()
    traffic.record(messages("big", T0, payload=b"x" * (KEPT_PAYLOAD + 1)))
    [snap] = traffic.snapshot(T0)
    assert (snap.last_size, snap.payload) == (KEPT_PAYLOAD + 1, None)
    assert classify("big", snap.payload, [], DeviceRegistry([])).outcome == "unknown"


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity must be at least 1, not 0"):
        TopicTraffic(capacity=0)


# -- claims against the real pipeline ------------------------------------------------------

WET = json.dumps({"water_leak": True, "battery": 90}).encode()

CASES = [
    ("zigbee2mqtt/leak_cave_b", WET, "device", "leak-lilas-b-cave", None),
    ("zigbee2mqtt/new_sensor", WET, "unclaimed", None, None),
    ("zigbee2mqtt/leak_cave_b", b"{not json", "dead_letter", None, "not JSON"),
    ("zigbee2mqtt/leak_cave_b", b'{"water_leak": "very wet"}', "dead_letter",
     "leak-lilas-b-cave", "bad value: "),
    ("zigbee2mqtt/bridge/state", b'{"state": "online"}', "bridge", None, None),
    ("elsewhere/thing", b"{}", "unrouted", None, None),
]


@pytest.mark.parametrize(("topic", "payload", "outcome", "device", "reason"), CASES)
def test_a_claim_says_what_the_pipeline_does_with_the_message(
    topic: str, payload: bytes, outcome: str, device: str | None, reason: str | None
) -> None:
    installation = load_installation(INSTALLATION)
    routes = build_routes(installation).routes
    registry = DeviceRegistry(installation.bridges)
    pipeline = Pipeline(routes, registry, RuleEngine(installation.rules, registry,
                                                     installation.places))

    claim = classify(topic, payload, pipeline.routes, pipeline.registry)
    pipeline.process([RawMessage(topic, payload, 1, False, T0)])

    assert (claim.outcome, claim.device) == (outcome, device)
    stats = pipeline.stats
    did = {"device": stats.readings > 0, "unclaimed": bool(pipeline.unclaimed.entries()),
           "dead_letter": bool(pipeline.dead_letters), "bridge": bool(pipeline.bridges_online),
           "unrouted": stats.unrouted == 1}
    assert [name for name, happened in did.items() if happened] == [outcome]
    if reason is not None:
        assert claim.reason is not None and claim.reason.startswith(reason)
        assert pipeline.dead_letters[-1].reason == claim.reason
    assert [s.topic for s in pipeline.traffic.snapshot(T0)] == [topic]
