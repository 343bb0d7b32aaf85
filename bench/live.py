"""Benchmarks 2 and 3: the gateway as operators run it (``palier run``), live.

One ``palier run`` child process, with the generated installation (10,000 devices,
100 rules in the full mode), SQLite in a temporary folder and the bench's broker:

* memory: its resident set size (``VmRSS``) once started and idle, then after the
  whole ingest traffic was published to it live and processed, with the peak
  (``VmHWM``);
* latency: a paced background of ordinary readings (2,000 a second) from the
  publisher process, and every second a leak in a building where the resident
  lives, published from this process; the latency is from just before
  ``publish()`` to the moment the alert is seen by the resident: on their
  Server-Sent Events stream (``GET /api/stream``) when the API has one, else by
  polling ``GET /api/feed`` every 5 ms from right after publishing (the figure then
  includes up to one polling interval and one request).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt

from bench import BenchError
from bench.installation import INSTALLER, PASSWORD, RESIDENT, Catalogue
from bench.procs import free_port, module, start, stop, wait_for_port
from bench.traffic import leak

FEED_POLL = 0.005
STATUS_POLL = 0.5


def palier_command() -> list[str]:
    """``palier`` from this interpreter's environment (the console script), else the module."""
    script = Path(sys.executable).parent / "palier"
    if script.exists():
        return [str(script)]
    found = shutil.which("palier")
    return [found] if found else [sys.executable, "-m", "gateway.cli"]


def proc_status(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of ``pid`` in bytes (Linux), else psutil's RSS."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    except OSError:  # not Linux: psutil (the ``bench`` extra) knows the RSS
        import psutil

        out["VmRSS"] = psutil.Process(pid).memory_info().rss
    return out


@dataclass
class PalierProcess:
    """``palier run`` in a child process, with its API address and logins."""

    config: Path
    broker_port: int
    workdir: Path
    database_url: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    api_port: int = 0
    tokens: dict[str, str] = field(default_factory=dict)
    api_errors: int = 0

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def log(self) -> Path:
        return self.workdir / "palier.log"

    def start(self, timeout: float = 180.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.api_port = free_port()
        database = self.database_url or f"sqlite:///{self.workdir / 'palier.sqlite3'}"
        self.proc = start(
            [*palier_command(), "run", "--config", str(self.config),
             "--broker", f"mqtt://127.0.0.1:{self.broker_port}", "--database", database,
             "--listen", f"127.0.0.1:{self.api_port}"],
            cwd=self.workdir, log=self.log,
        )
        wait_for_port(self.api_port, timeout=timeout, proc=self.proc)
        deadline = time.monotonic() + 30
        while "connected to mqtt://" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"palier run did not connect to the broker (log: {self.log})")
            time.sleep(0.05)

    def stop(self) -> None:
        stop(self.proc, grace=20)
        self.proc = None

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise BenchError("palier run is not running")
        return self.proc.pid

    def token(self, username: str) -> str:
        if username not in self.tokens:
            reply = httpx.post(f"{self.api}/api/auth/token", timeout=30,
                               data={"username": username, "password": PASSWORD})
            reply.raise_for_status()
            self.tokens[username] = reply.json()["access_token"]
        return self.tokens[username]

    def received(self) -> int:
        """The pipeline's ``received`` counter, from the status API (installers see it).

        A server error is counted in ``api_errors`` and answered with -1: under ingest,
        SQLite can keep the API waiting past its busy timeout, which is a finding to
        report, not a reason to stop measuring.
        """
        reply = httpx.get(f"{self.api}/api/gateway/status", timeout=30,
                          headers={"Authorization": f"Bearer {self.token(INSTALLER)}"})
        if reply.status_code >= 500:
            self.api_errors += 1
            return -1
        reply.raise_for_status()
        return int(reply.json()["stats"]["received"])


def memory_and_live_ingest(palier: PalierProcess, traffic: Path, messages: int,
                           connections: int, timeout: float) -> dict[str, Any]:
    """RSS idle, then after ``messages`` published live and processed, with the RSS
    sampled along the way (messages processed, MB) to show how it grows."""
    idle = proc_status(palier.pid)
    before = max(0, palier.received())
    began = time.perf_counter()
    publisher = start(module("bench.publisher", "--port", palier.broker_port, "--traffic",
                             traffic, "--connections", connections),
                      log=palier.workdir / "publisher.log")
    try:
        deadline = time.monotonic() + timeout
        got = before
        samples: list[tuple[int, float]] = []
        while got - before < messages:
            if time.monotonic() > deadline:
                raise BenchError(f"palier run processed {got - before} of {messages} messages "
                                 f"in {timeout:g} s")
            time.sleep(STATUS_POLL)
            got = max(got, palier.received())
            samples.append((got - before, proc_status(palier.pid).get("VmRSS", 0) / 2**20))
        seconds = time.perf_counter() - began
    finally:
        stop(publisher)
    after = proc_status(palier.pid)
    return {
        "rss_idle_mb": idle.get("VmRSS", 0) / 2**20,
        "rss_after_ingest_mb": after.get("VmRSS", 0) / 2**20,
        "rss_peak_mb": after.get("VmHWM", after.get("VmRSS", 0)) / 2**20,
        "live_messages": messages,
        "live_seconds": seconds,
        "live_rate": messages / seconds,
        "status_api_errors": palier.api_errors,
        "rss_mb_by_messages": samples[:: max(1, len(samples) // 40)],
    }


# --- latency ---------------------------------------------------------------------------

#: After the last incident, how long a late alert is still waited for.
GRACE = 10.0


class _Seen:
    """Device names seen in alert posts, with the clock when each was first seen."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.at: dict[str, float] = {}
        self.all_seen = asyncio.Event()

    def note(self, text: str) -> None:
        now = time.perf_counter()
        for name in self.names:
            if name not in self.at and name in text:
                self.at[name] = now
        if len(self.at) == len(self.names):
            self.all_seen.set()


async def _read_stream(client: httpx.AsyncClient, token: str, seen: _Seen,
                       ready: asyncio.Event, failed: asyncio.Event) -> None:
    """Note every alert the resident's SSE stream carries, as it arrives."""
    try:
        async with client.stream("GET", "/api/stream",
                                 headers={"Authorization": f"Bearer {token}"},
                                 timeout=httpx.Timeout(10.0, read=None)) as reply:
            if reply.status_code != 200:
                failed.set()
                return
            ready.set()
            async for line in reply.aiter_lines():
                if line.startswith("data:"):
                    seen.note(line)
    except (httpx.HTTPError, OSError):
        failed.set()


async def _poll_feed(client: httpx.AsyncClient, token: str, seen: _Seen,
                     sent: dict[str, float]) -> None:
    """Poll the resident's feed every 5 ms while a published incident waits to be seen."""
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        if any(name not in seen.at for name in sent):
            with contextlib.suppress(httpx.HTTPError):
                reply = await client.get("/api/feed", params={"limit": 20}, headers=headers)
                seen.note(reply.text)
        await asyncio.sleep(FEED_POLL)


async def _open_stream(client: httpx.AsyncClient, token: str,
                       seen: _Seen) -> asyncio.Task[None] | None:
    """The stream reader, once the stream answered 200; None where there is no stream."""
    ready, failed = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(_read_stream(client, token, seen, ready, failed))
    waiters = [asyncio.create_task(ready.wait()), asyncio.create_task(failed.wait())]
    await asyncio.wait(waiters, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
    if ready.is_set() and not failed.is_set():
        return task
    task.cancel()
    return None


def _incident_client(port: int) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-incidents",
                         protocol=mqtt.MQTTv311)
    client.connect("127.0.0.1", port)
    sock = client.socket()
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.loop_start()
    return client


async def _latency(palier: PalierProcess, cat: Catalogue, background: Path, seconds: float,
                   rate: int, use_stream: bool) -> dict[str, Any]:
    """One leak a second on a fixed schedule, whatever became of the previous ones, while
    the background runs; each alert is timed when it reaches the resident, however late."""
    token = palier.token(RESIDENT)
    devices = cat.leak_sensors(cat.latency_buildings)[:max(1, int(seconds))]
    seen = _Seen([d.name for d in devices])
    sent: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=palier.api, timeout=10) as client:
        watcher = await _open_stream(client, token, seen) if use_stream else None
        method = "SSE stream (GET /api/stream)"
        if watcher is None:
            method = "feed polling every 5 ms (GET /api/feed)"
            watcher = asyncio.create_task(_poll_feed(client, token, seen, sent))
        publisher = start(module("bench.publisher", "--port", palier.broker_port, "--traffic",
                                 background, "--connections", 2, "--rate", rate,
                                 "--seconds", len(devices) + GRACE + 5),
                          log=palier.workdir / "background.log")
        mq = _incident_client(palier.broker_port)
        try:
            await asyncio.sleep(1.0)  # the background reaches its pace
            began = time.perf_counter()
            for i, device in enumerate(devices):
                await asyncio.sleep(max(0.0, began + i - time.perf_counter()))
                topic, payload = leak(device)
                sent[device.name] = time.perf_counter()
                mq.publish(topic, payload, qos=1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(seen.all_seen.wait(), GRACE)
        finally:
            mq.loop_stop()
            mq.disconnect()
            stop(publisher)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
    latencies = [seen.at[n] - sent[n] for n in sent if n in seen.at]
    missed = [d.id for d in devices if d.name not in seen.at]
    return {"method": method, "incidents": len(devices), "seen": len(latencies),
            "missed": missed, "latencies_ms": [x * 1000 for x in latencies],
            "background_rate": rate}


def latency(palier: PalierProcess, cat: Catalogue, background: Path, seconds: float,
            rate: int) -> dict[str, Any]:
    """p50/p99/max from publishing a leak to the resident seeing its alert."""
    return asyncio.run(_latency(palier, cat, background, seconds, rate, use_stream=True))
