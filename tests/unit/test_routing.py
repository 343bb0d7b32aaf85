"""gateway.routing: a topic's candidate bridges are exactly those whose filters match it."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.installation import catalogue, write_installation
from bench.traffic import TrafficGenerator
from firmware_bridge.records import Decoded, RawMessage
from gateway.config.loader import load_installation
from gateway.routing import TopicRouter, matches
from gateway.runtime import build_routes


class Filtered:
    """A decoder subscribed to ``filters`` that claims nothing (routing is all we look at)."""

    def __init__(self, *filters: str) -> None:
        self.topic_filters = filters

    def decode(self, message: RawMessage) -> Decoded | None:
        return None


class Unfiltered:
    def decode(self, message: RawMessage) -> Decoded | None:
        return None


def ids(router: TopicRouter, topic: str) -> list[str]:
    return [bridge for bridge, _ in router.candidates(topic)]


def test_mqtt_matching() -> None:
    assert matches("a/#", "a") and matches("a/#", "a/b/c") and matches("#", "x/y")
    assert matches("+/status", "node/status") and not matches("+/status", "a/b/status")
    assert matches("a/+/#", "a/b") and not matches("a/+", "a")
    assert not matches("#", "$SYS/broker") and not matches("+/x", "$SYS/x")
    assert matches("$SYS/#", "$SYS/broker")


def test_candidates_keep_the_routing_order_and_unfiltered_decoders_see_everything() -> None:
    router = TopicRouter([("esp", Filtered("+/status", "+/+/+/state")),
                          ("any", Unfiltered()),
                          ("z2m", Filtered("z2m/b001/#")),
                          ("shelly", Filtered("+/online", "+/status/+"))])
    assert ids(router, "node-1/status") == ["esp", "any"]
    assert ids(router, "z2m/b001/leak") == ["any", "z2m"]
    assert ids(router, "z2m/b001") == ["any", "z2m"]
    assert ids(router, "z2m/b002/leak") == ["any"]
    assert ids(router, "pump/status/switch:0") == ["any", "shelly"]
    assert ids(router, "$SYS/status") == ["any"]
    assert router.candidates("node-1/status") is router.candidates("node-1/status")


LEVEL = st.sampled_from(["a", "b", "status", "$SYS", "", "x1"])
FILTER = st.lists(st.one_of(LEVEL, st.just("+")), min_size=1, max_size=4).flatmap(
    lambda parts: st.sampled_from(["/".join(parts), "/".join([*parts, "#"]), "#"]))
TOPIC = st.lists(LEVEL, min_size=1, max_size=5).map("/".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(FILTER, min_size=1, max_size=3), min_size=1, max_size=6),
       st.lists(TOPIC, min_size=1, max_size=10))
def test_the_tree_finds_what_matching_every_filter_finds(filter_sets: list[list[str]],
                                                         topics: list[str]) -> None:
    routes = [(f"r{i}", Filtered(*filters)) for i, filters in enumerate(filter_sets)]
    router = TopicRouter(routes)
    for topic in topics:
        expected = [b for b, d in routes if any(matches(f, topic) for f in d.topic_filters)]
        assert ids(router, topic) == expected, topic


def test_no_bridge_left_out_ever_claims_a_message(tmp_path: Path) -> None:
    """On the benchmark's installation (103 bridges of four families) and its traffic,
    a decoder the index leaves out would not have claimed the message anyway."""
    cat = catalogue(3)
    installation = load_installation(write_installation(tmp_path, cat, rule_count=20))
    routes = build_routes(installation).routes
    router = TopicRouter(routes)
    for topic, payload in TrafficGenerator(cat).messages(1500):
        message = RawMessage(topic, payload, 1, False, 1.0)
        chosen = {bridge for bridge, _ in router.candidates(topic)}
        claimed = []
        for bridge, decoder in routes:
            try:
                decoded = decoder.decode(message)
            except Exception:
                decoded = "error"
            if decoded is not None:
                claimed.append(bridge)
        assert claimed and set(claimed) <= chosen, (topic, claimed, chosen)
