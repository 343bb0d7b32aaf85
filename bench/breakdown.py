"""``python -m bench.breakdown``: the cost of one reading, stage by stage, without a broker.

The ingest traffic is fed straight to the gateway's own objects, in batches of
1,000 as the processor cuts them, and each stage is timed on its own:

1. routing and decoding — the topic's candidate bridges (gateway.routing) tried in
   order, as ``Pipeline.process_one`` does, until one claims the message;
2. the whole pipeline — decoding, the device registry, availability and the rules
   engine (``Pipeline.process``);
3. collecting the rules' changed states (``RuleEngine.take_state_changes``);
4. storing the batch's readings in the embedded telemetry store (its own SQLite
   file, in journal mode as the gateway opens it: the batch is appended);
5. committing actions and rule states (``AlarmStore.apply``, SQLite in a temporary
   folder) — what the processor does before it lets a batch be acknowledged;
6. off the acknowledgement path: filing the telemetry journal (``compact``) every
   ``COMPACT_EVERY`` batches, as the gateway's maintenance task does about once a
   second in another thread.

Prints microseconds per message for each stage, the number of rule states written
per message, and the rate the stages alone would allow. No MQTT client is involved:
compare with the bare clients' rates from ``python -m bench``.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.installation import catalogue, write_installation
from bench.sizes import FULL, QUICK
from bench.traffic import TrafficGenerator
from devices.registry import DeviceRegistry
from firmware_bridge.base import DecodeError
from firmware_bridge.records import RawMessage
from gateway.config.loader import load_installation
from gateway.pipeline import Pipeline
from gateway.runtime import build_routes
from gateway.store import AlarmStore
from rules.engine import RuleEngine
from social.db import Database
from social.places import sync_places

BATCH = 1000
#: Batches between two compactions of the telemetry journal (about a second of a drain).
COMPACT_EVERY = 10


def _route_only(routes: Sequence[tuple[str, Any]], registry: DeviceRegistry,
                messages: Sequence[RawMessage]) -> None:
    try:  # the candidates of a topic, as the pipeline finds them (where it has an index)
        from gateway.routing import TopicRouter
        candidates = TopicRouter(routes).candidates
    except ImportError:
        def candidates(_topic: str) -> Sequence[tuple[str, Any]]:
            return routes
    for message in messages:
        for bridge_id, decoder in candidates(message.topic):
            try:
                decoded = decoder.decode(message)
            except DecodeError:
                continue
            if decoded is None:
                continue
            source = getattr(decoded, "source", None)
            if source is None or registry.lookup(bridge_id, source) is not None:
                break


def _telemetry_store(root: Path) -> Any:
    """The gateway's embedded telemetry store, where this version of Palier has one."""
    try:
        from gateway.telemetry.store import TelemetryStore
    except ImportError:
        return None
    try:
        store = TelemetryStore.open(None, root, journal=True)  # as the gateway opens it
    except TypeError:  # a version without journal mode
        store = TelemetryStore.open(None, root)
    store.start()
    return store


def breakdown(quick: bool, messages: int | None = None) -> dict[str, Any]:
    sizes = QUICK if quick else FULL
    count = messages or sizes.messages
    with tempfile.TemporaryDirectory(prefix="palier-breakdown-") as tmp:
        root = Path(tmp)
        cat = catalogue(sizes.buildings)
        installation = load_installation(write_installation(root / "installation", cat,
                                                            rule_count=sizes.rules))
        now = time.time()
        raw = [RawMessage(topic, payload, 1, False, now + i * 1e-4)
               for i, (topic, payload) in enumerate(TrafficGenerator(cat).messages(count))]
        batches = [raw[i:i + BATCH] for i in range(0, len(raw), BATCH)]
        routes = build_routes(installation).routes

        registry = DeviceRegistry(installation.bridges)
        try:  # the garbage collector as the gateway's processor sets it, where it does
            from gateway.processor import _settle_garbage_collector
        except ImportError:
            pass
        else:
            _settle_garbage_collector()
        began, began_cpu = time.perf_counter(), time.thread_time()
        for batch in batches:
            _route_only(routes, registry, batch)
        route_s = time.perf_counter() - began
        route_cpu = time.thread_time() - began_cpu

        # fresh decoders: Shelly's keeps state, the route-only pass must not warm it
        routes = build_routes(installation).routes
        engine = RuleEngine(installation.rules, registry, installation.places)
        pipeline = Pipeline(routes, registry, engine)
        database = Database(f"sqlite:///{root / 'palier.sqlite3'}")
        database.migrate()
        with database.session() as session:
            sync_places(session, list(installation.places.values()))
            session.commit()
        store = AlarmStore(database)
        telemetry = _telemetry_store(root)
        gc.collect()
        gc.freeze()  # what the processor does once the configuration is loaded
        wall = dict.fromkeys(("pipeline", "take", "telemetry", "commit", "compact"), 0.0)
        cpu = dict(wall)
        states = actions_n = 0
        clocks = (time.perf_counter, time.thread_time)
        for number, batch in enumerate(batches, 1):
            t0 = [c() for c in clocks]
            actions = pipeline.process(batch)
            t1 = [c() for c in clocks]
            changes = engine.take_state_changes()
            readings = pipeline.take_readings()
            t2 = [c() for c in clocks]
            if telemetry is not None and readings:
                telemetry.write_batch(readings)
            t3 = [c() for c in clocks]
            store.apply(actions, changes)
            t4 = [c() for c in clocks]
            if telemetry is not None and getattr(telemetry, "journaled", False) and (
                    number % COMPACT_EVERY == 0 or number == len(batches)):
                while telemetry.compact().top is not None:
                    pass
            t5 = [c() for c in clocks]
            for stage, (a, b) in (("pipeline", (t0, t1)), ("take", (t1, t2)),
                                  ("telemetry", (t2, t3)), ("commit", (t3, t4)),
                                  ("compact", (t4, t5))):
                wall[stage] += b[0] - a[0]
                cpu[stage] += b[1] - a[1]
            states += len(changes)
            actions_n += len(actions)
        database.dispose()
        if telemetry is not None:
            telemetry.close()

    def us(seconds: float) -> float:
        return seconds / count * 1e6

    total = sum(v for k, v in wall.items() if k != "compact")

    def stages(times: dict[str, float], route: float) -> dict[str, float | None]:
        return {
            "route_and_decode": us(route),
            "pipeline_total": us(times["pipeline"]),
            "take_state_changes": us(times["take"]),
            "telemetry_store": us(times["telemetry"]) if telemetry is not None else None,
            "commit_actions_and_states": us(times["commit"]),
            "all_stages": us(sum(v for k, v in times.items() if k != "compact")),
            "off_path_journal_compaction": us(times["compact"]),
        }

    return {
        "messages": count, "bridges": len(routes), "rule_bindings": engine.binding_count,
        "readings": pipeline.stats.readings, "actions": actions_n,
        "rule_states_written": states, "rule_states_per_message": states / count,
        "us_per_message": stages(wall, route_s),
        # CPU time of this thread alone: steadier than wall time on a shared machine
        # (it leaves out the waits for the disk, which wall time includes)
        "cpu_us_per_message": stages(cpu, route_cpu),
        "rate_stages_allow": count / total,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.breakdown", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--messages", type=int, default=None)
    args = parser.parse_args(argv)
    print(json.dumps(breakdown(args.quick, args.messages), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
