"""Which bridges a topic can belong to, found once per topic instead of per message.

The pipeline offers a message to the bridges in order until one claims it. Tried
blindly, that is every bridge before the right one: with a hundred zigbee2mqtt
coordinators (a base topic per building), about fifty failed ``decode`` calls a
message. A bridge only ever receives what its subscription filters match, so the
candidates for a topic are the bridges whose filters match it, in routing order;
they are worked out the first time a topic is seen (MQTT matching, ``+`` and ``#``)
and remembered — a building's devices publish on a few thousand topics, reused by
every message. A decoder that declares no filters is a candidate for every topic.
"""

from __future__ import annotations

from collections.abc import Sequence

from firmware_bridge.base import Decoder

Route = tuple[str, Decoder]

#: Topics remembered at most; past it the memory starts again (a flood of random topics
#: costs a bounded amount, then the known topics are found again as they come).
CAPACITY = 100_000


def matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic matching: ``+`` is one level, a trailing ``#`` any number (even none)."""
    if topic_filter == topic:
        return True
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False  # wildcards never match the broker's own $ topics (MQTT §4.7.2)
    levels = topic.split("/")
    parts = topic_filter.split("/")
    for i, part in enumerate(parts):
        if part == "#":
            return True
        if i >= len(levels) or (part != "+" and part != levels[i]):
            return False
    return len(parts) == len(levels)


class _Node:
    """One level of the filter tree: exact children, ``+``, and the routes ending here."""

    __slots__ = ("children", "hash", "here", "plus")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.plus: _Node | None = None
        self.here: list[int] = []  # routes whose filter ends at this level
        self.hash: list[int] = []  # routes whose filter continues with "#" here


class TopicRouter:
    """The candidate routes of a topic, in routing order, remembered per topic.

    The bridges' filters are kept in a tree of levels, so finding a new topic's
    candidates costs a walk of its levels, not a match against every filter.
    """

    __slots__ = ("_everywhere", "_known", "_root", "_routes")

    def __init__(self, routes: Sequence[Route]) -> None:
        self._routes = tuple(routes)
        self._root = _Node()
        self._everywhere: list[int] = []  # decoders without filters: every topic
        self._known: dict[str, tuple[Route, ...]] = {}
        for index, (_, decoder) in enumerate(self._routes):
            filters = getattr(decoder, "topic_filters", None)
            if not filters:
                self._everywhere.append(index)
                continue
            for topic_filter in filters:
                self._add(topic_filter, index)

    def _add(self, topic_filter: str, index: int) -> None:
        node = self._root
        for part in topic_filter.split("/"):
            if part == "#":
                node.hash.append(index)
                return
            if part == "+":
                if node.plus is None:
                    node.plus = _Node()
                node = node.plus
            else:
                node = node.children.setdefault(part, _Node())
        node.here.append(index)

    def _match(self, topic: str) -> set[int]:
        found = set(self._everywhere)
        levels = topic.split("/")
        system = topic.startswith("$")  # wildcards never match $ topics at the first level
        nodes = [self._root]
        for depth, level in enumerate(levels):
            following = []
            for node in nodes:
                if not (system and depth == 0):
                    found.update(node.hash)  # "a/#" matches "a/…" (and "a" itself, below)
                    if node.plus is not None:
                        following.append(node.plus)
                child = node.children.get(level)
                if child is not None:
                    following.append(child)
            nodes = following
            if not nodes:
                return found
        for node in nodes:
            found.update(node.here)
            found.update(node.hash)  # "a/#" matches "a"
        return found

    def candidates(self, topic: str) -> tuple[Route, ...]:
        found = self._known.get(topic)
        if found is None:
            routes = self._routes
            found = tuple(routes[i] for i in sorted(self._match(topic)))
            if len(self._known) >= CAPACITY:
                self._known.clear()
            self._known[topic] = found
        return found
