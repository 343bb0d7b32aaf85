"""The per-topic traffic counter's cost on the hot path, per message.

``python -m bench.topic_traffic`` feeds batches of 1,000 messages to
:class:`gateway.traffic.TopicTraffic`, as the pipeline does, and prints one JSON line
per case: steady traffic from 500 and 2,000 devices, and a flood of random topics
(every message a new topic, so every message evicts one). The bare loop over the
same messages is measured too, as the floor.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence

from firmware_bridge.records import RawMessage
from gateway.traffic import TopicTraffic

PAYLOAD = b'{"battery":100,"battery_low":false,"linkquality":83,"water_leak":false}'


def _batches(topics: int, count: int, rng: random.Random) -> list[list[RawMessage]]:
    start = time.time()
    messages = [RawMessage(f"zigbee2mqtt/device_{rng.randrange(topics)}", PAYLOAD, 1, False,
                           start + i * 0.0002) for i in range(count)]
    return [messages[i:i + 1000] for i in range(0, count, 1000)]


def _best_ns(batches: Sequence[Sequence[RawMessage]], rounds: int) -> float:
    count = sum(len(b) for b in batches)
    best = float("inf")
    for _ in range(rounds):
        traffic = TopicTraffic()
        began = time.perf_counter()
        for batch in batches:
            traffic.record(batch)
        best = min(best, time.perf_counter() - began)
    return best / count * 1e9


def _floor_ns(batches: Sequence[Sequence[RawMessage]]) -> float:
    count = sum(len(b) for b in batches)
    began = time.perf_counter()
    for batch in batches:
        for message in batch:
            _ = message.topic
    return (time.perf_counter() - began) / count * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(7)
    for name, topics in (("500 devices", 500), ("2000 devices", 2000),
                         ("random-topic flood", 10 * args.messages)):
        batches = _batches(topics, args.messages, rng)
        print(json.dumps({"case": name, "ns_per_message": round(_best_ns(batches, args.rounds)),
                          "bare_loop_ns": round(_floor_ns(batches))}))


if __name__ == "__main__":
    main()
