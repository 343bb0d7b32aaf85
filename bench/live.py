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
    """RSS idle, then after ``messages`` published live and processed."""
    idle = proc_status(palier.pid)
    before = max(0, palier.received())
    began = time.perf_counter()
    publisher = start(module("bench.publisher", "--port", palier.broker_port, "--traffic",
                             traffic, "--connections", connections),
                      log=palier.workdir / "publisher.log")
    try:
        deadline = time.monotonic() + timeout
        got = before
        while got - before < messages:
            if time.monotonic() > deadline:
                raise BenchError(f"palier run processed {got - before} of {messages} messages "
                                 f"in {timeout:g} s")
            time.sleep(STATUS_POLL)
            got = max(got, palier.received())
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
    }


# --- latency ---------------------------------------------------------------------------


class _Seen:
    """Device names seen in alert posts, with the clock when each was first seen."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}

    def note(self, text: str, names: list[str]) -> None:
        now = time.perf_counter()
        for name in names:
            if name not in self.at and name in text:
                self.at[name] = now


async def _read_stream(client: httpx.AsyncClient, token: str, seen: _Seen, names: list[str],
                       ready: asyncio.Event, failed: asyncio.Event) -> None:
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
                    seen.note(line, names)
    except (httpx.HTTPError, OSError):
        failed.set()


async def _latency(palier: PalierProcess, cat: Catalogue, background: Path, seconds: float,
                   rate: int, use_stream: bool) -> dict[str, Any]:
    token = palier.token(RESIDENT)
    devices = cat.leak_sensors(cat.latency_buildings)
    count = max(1, min(len(devices), int(seconds)))
    devices = devices[:count]
    names = [d.name for d in devices]
    seen = _Seen()
    method = "feed polling every 5 ms"
    async with httpx.AsyncClient(base_url=palier.api, timeout=10) as client:
        stream_task = None
        if use_stream:
            ready, failed = asyncio.Event(), asyncio.Event()
            stream_task = asyncio.create_task(
                _read_stream(client, token, seen, names, ready, failed))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.wait([asyncio.create_task(ready.wait()),
                                  asyncio.create_task(failed.wait())],
                                 return_when=asyncio.FIRST_COMPLETED), 10)
            if ready.is_set() and not failed.is_set():
                method = "SSE stream (GET /api/stream)"
            else:
                stream_task.cancel()
                stream_task = None
        publisher = start(module("bench.publisher", "--port", palier.broker_port, "--traffic",
                                 background, "--connections", 2, "--rate", rate,
                                 "--seconds", seconds + 3),
                          log=palier.workdir / "background.log")
        mq = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-incidents",
                         protocol=mqtt.MQTTv311)
        mq.connect("127.0.0.1", palier.broker_port)
        sock = mq.socket()
        if sock is not None:
            import socket

            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mq.loop_start()
        latencies: list[float] = []
        missed: list[str] = []
        headers = {"Authorization": f"Bearer {token}"}
        try:
            await asyncio.sleep(1.0)  # the background reaches its pace
            for device in devices:
                tick = time.perf_counter()
                topic, payload = leak(device)
                sent = time.perf_counter()
                mq.publish(topic, payload, qos=1)
                deadline = sent + 5.0
                while device.name not in seen.at and time.perf_counter() < deadline:
                    if stream_task is None:
                        reply = await client.get("/api/feed", params={"limit": 10},
                                                 headers=headers)
                        seen.note(reply.text, [device.name])
                        await asyncio.sleep(FEED_POLL)
                    else:
                        await asyncio.sleep(0.001)
                if device.name in seen.at:
                    latencies.append(seen.at[device.name] - sent)
                else:
                    missed.append(device.id)
                await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - tick)))
        finally:
            mq.loop_stop()
            mq.disconnect()
            stop(publisher)
            if stream_task is not None:
                stream_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await stream_task
    return {"method": method, "incidents": len(devices), "seen": len(latencies),
            "missed": missed, "latencies_ms": [x * 1000 for x in latencies],
            "background_rate": rate}


def latency(palier: PalierProcess, cat: Catalogue, background: Path, seconds: float,
            rate: int) -> dict[str, Any]:
    """p50/p99/max from publishing a leak to the resident seeing its alert."""
    return asyncio.run(_latency(palier, cat, background, seconds, rate, use_stream=True))


