"""Benchmark 1, ingest: a broker backlog drained by Palier and, in the same run, by bare clients.

A run goes:

1. every subscriber under test opens its persistent session (QoS 1) and leaves;
2. the publisher process sends the whole traffic file at QoS 1, as fast as the
   broker acknowledges it — the broker now holds one backlog per session, as after
   an outage;
3. each subscriber comes back alone and drains its backlog: a bare paho counter, a
   bare gmqtt counter, the full Palier gateway and (``--peers``) Node-RED.

Draining a backlog measures the subscriber, not the publisher (a Python publisher
is slower than the fastest subscribers), and it is the case issue 8 starts from:
absorbing a broker's backlog after an outage.

Palier runs in this process, in a thread of its own, as ``Gateway`` with the
generated installation, SQLite in a temporary folder, and the broker as configured
for production. Its rate runs from the first message received (the earliest
``since`` of device health, stamped by the intake) to the moment the pipeline's
``received`` counter reaches the total, polled every 2 ms. Afterwards the session is
checked to hold nothing unacknowledged.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench import BenchError
from bench.procs import module, run_json
from gateway.app import Gateway
from gateway.broker_url import BrokerUrl
from gateway.config.installation import Installation
from gateway.runtime import build_routes
from gateway.settings import Settings
from social.models import Alarm, Notification, Post

POLL = 0.002


class GatewayThread:
    """A ``Gateway`` on its own event loop in a background thread."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._main, name="palier-gateway", daemon=True)
        self.error: BaseException | None = None

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self.gateway.run())
        except BaseException as exc:  # reported by stop()
            self.error = exc
        finally:
            loop.close()

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 30.0) -> None:
        loop = self._loop
        if loop is not None and self._thread.is_alive():
            loop.call_soon_threadsafe(self.gateway.stop)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise BenchError("the gateway did not stop within 30 s")
        if self.error is not None:
            raise BenchError(f"the gateway failed: {self.error!r}") from self.error


def palier_filters(installation: Installation) -> list[str]:
    return list(dict.fromkeys(build_routes(installation).filters))


def prime(library: str, port: int, client_id: str, filters: list[str] | None = None) -> None:
    """Open a persistent QoS 1 session for ``client_id`` and leave it waiting at the broker."""
    args = module("bench.counters", library, "--port", port, "--client-id", client_id, "--prime")
    for f in filters or []:
        args += ["--filter", f]
    run_json(args, timeout=30)


def drain_counter(library: str, port: int, client_id: str, expect: int,
                  timeout: float) -> dict[str, Any]:
    result = run_json(module("bench.counters", library, "--port", port, "--client-id",
                             client_id, "--expect", expect, "--timeout", timeout),
                      timeout=timeout + 30)
    if result["received"] < expect:
        raise BenchError(f"bare {library} received {result['received']} of {expect} messages")
    return result


@dataclass
class PalierDrain:
    """What one Palier drain measured."""

    messages: int
    seconds: float
    startup_seconds: float
    stats: dict[str, Any]
    batches: int
    alarms: int
    posts: int
    notifications: int
    redelivered: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"messages": self.messages, "seconds": self.seconds, "rate": self.rate,
                "readings_per_s": self.stats.get("readings", 0) / self.seconds
                if self.seconds > 0 else 0.0,
                "startup_seconds": self.startup_seconds, "batches": self.batches,
                "alarms": self.alarms, "posts": self.posts,
                "notifications": self.notifications, "redelivered_after_drain": self.redelivered,
                "pipeline": self.stats, **self.extra}


def drain_palier(installation: Installation, port: int, client_id: str, expect: int,
                 workdir: Path, timeout: float) -> PalierDrain:
    """Run the gateway until its backlog of ``expect`` messages went through the pipeline."""
    workdir.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        config_dir=installation.root,
        broker=BrokerUrl.parse(f"mqtt://127.0.0.1:{port}"),
        database_url=f"sqlite:///{workdir / 'palier.sqlite3'}",
        listen=("127.0.0.1", 0),
        var_dir=workdir,
        client_id=client_id,
        watch_config=False,
    )
    gateway = Gateway(settings, installation)
    runner = GatewayThread(gateway)
    began = time.time()
    runner.start()
    last = 0.0
    try:
        deadline = time.monotonic() + timeout
        while True:
            runtime = gateway.runtime
            if runtime is not None and runtime.pipeline.stats.received >= expect:
                last = time.time()
                break
            if runner.error is not None or not runner.alive:
                raise BenchError(f"the gateway stopped during the drain: {runner.error!r}")
            if time.monotonic() > deadline:
                got = runtime.pipeline.stats.received if runtime else 0
                raise BenchError(f"Palier processed {got} of {expect} messages in {timeout:g} s")
            time.sleep(POLL)
        running = gateway.running
        assert running is not None and gateway.runtime is not None
        pipeline = gateway.runtime.pipeline
        first = min(h.since for h in pipeline.health.values() if h.since is not None)
        # the last batch's commit: wait until no batch has been stored for 0.1 s
        processor = running.processor
        settle_deadline = time.monotonic() + 10
        seen = processor.batches
        while time.monotonic() < settle_deadline:
            time.sleep(0.1)
            if processor.batches == seen:
                break
            seen = processor.batches
        with running.database.session() as session:
            alarms = session.scalar(select(func.count()).select_from(Alarm)) or 0
            posts = session.scalar(select(func.count()).select_from(Post)) or 0
            notes = session.scalar(select(func.count()).select_from(Notification)) or 0
        stats = pipeline.stats.as_dict()
        flood = getattr(pipeline, "flood", None)  # the per-device flood guard, where present
        stats["refused_by_flood_guard"] = sum(flood.refused.values()) if flood else 0
        batches = running.processor.batches
        # where this version of Palier counts them: its commits and their wall time
        extra = {name: getattr(processor, name) for name in ("commits", "commit_seconds")
                 if hasattr(processor, name)}
    finally:
        runner.stop()
    redelivered = run_json(module("bench.counters", "paho", "--port", port, "--client-id",
                                  client_id, "--expect", 1, "--timeout", 1.5), timeout=30)
    return PalierDrain(
        messages=expect, seconds=last - first, startup_seconds=first - began, stats=stats,
        batches=batches, alarms=alarms, posts=posts, notifications=notes,
        redelivered=int(redelivered["received"]), extra=extra,
    )
