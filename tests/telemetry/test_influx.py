"""The InfluxDB sink against a scripted HTTP server: what it writes, retries, drops and reports.

The server is a real HTTP server on loopback that answers the statuses a test
scripts, so the sink's influxdb-client talks real HTTP; VictoriaMetrics stands in
for a real InfluxDB in ``test_influx_victoria.py``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devices.records import Device, Reading, Value
from gateway.backoff import Backoff
from gateway.telemetry.errors import TelemetryError
from gateway.telemetry.influx import InfluxSink, token_from_env
from social.site import PlaceNode
from tests.conftest import free_port

TOKEN = "s3cr3t-t0ken-never-logged"
T0 = 1_717_400_000.0


def place_tree() -> dict[str, PlaceNode]:
    nodes = [
        PlaceNode("evry", None, "city", "Évry"),
        PlaceNode("pyramides", "evry", "neighbourhood", "Pyramides"),
        PlaceNode("lilas", "pyramides", "building", "Les Lilas"),
        PlaceNode("lilas/b", "lilas", "entrance", "Entrée B"),
        PlaceNode("lilas/b/3", "lilas/b", "floor", "3e étage"),
        PlaceNode("lilas/b/3/31", "lilas/b/3", "unit", "appartement 31"),
        PlaceNode("lilas/b/basement", "lilas/b", "floor", "sous-sol"),
    ]
    return {node.id: node for node in nodes}


def device(id: str, kind: str, place: str) -> Device:
    return Device(id=id, bridge_id="z2m", source=id, kind=kind, place_id=place, name=id,
                  points=())


DEVICES = {d.id: d for d in (
    device("t-b3", "thermometer", "lilas/b/3"),
    device("leak-cave", "water_leak_sensor", "lilas/b/basement"),
    device("boiler", "boiler", "lilas"),
    device("meter-31", "water_meter", "lilas/b/3/31"),
)}


@dataclass
class Request:
    status: int
    lines: list[str]
    query: dict[str, str]
    authorization: str


@dataclass
class ScriptedServer:
    """Answers each write with the next scripted ``(status, headers, body)``, else 204."""

    port: int
    script: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    delay: float = 0.0
    #: Set when a request has arrived (before the ``delay``).
    received: threading.Event = field(default_factory=threading.Event)
    _httpd: ThreadingHTTPServer | None = None

    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.received.set()
                if server.delay:
                    time.sleep(server.delay)
                status, headers, answer = server.script.pop(0) if server.script else (204, {}, b"")
                url = urllib.parse.urlsplit(self.path)
                assert url.path == "/api/v2/write"
                server.requests.append(Request(
                    status, body.decode().splitlines(), dict(urllib.parse.parse_qsl(url.query)),
                    self.headers.get("Authorization", "")))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True).start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def answer(self, status: int, message: str = "", **headers: str) -> None:
        body = json.dumps({"code": "invalid", "message": message}).encode() if message else b""
        self.script.append((status, headers, body))

    @property
    def accepted(self) -> list[str]:
        """Every line of every 2xx request, in the order they arrived."""
        return [line for r in self.requests if r.status < 300 for line in r.lines]


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    stub = ScriptedServer(free_port())
    stub.start()
    yield stub
    stub.stop()


SinkFactory = Callable[..., InfluxSink]


@pytest.fixture
def make_sink(tmp_path: Path) -> Iterator[SinkFactory]:
    """``make_sink(port, **overrides)``: a fast-retrying sink, closed after the test."""
    sinks: list[InfluxSink] = []

    def _make(port: int, **overrides: Any) -> InfluxSink:
        options: dict[str, Any] = dict(
            device_lookup=DEVICES.get, places=place_tree(), buffer_dir=tmp_path / "buffer",
            batch_size=100, flush_interval=0.02,
            backoff=Backoff(base=0.01, cap=0.05), timeout=5.0)
        options.update(overrides)
        sink = InfluxSink(f"http://127.0.0.1:{port}", "palier", "telemetry", TOKEN, **options)
        sinks.append(sink)
        return sink

    yield _make
    for sink in sinks:
        sink.close(timeout=5)


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def readings(count: int, start: int = 0, device_id: str = "t-b3",
             point: str = "temperature") -> list[Reading]:
    return [Reading(device_id, point, 20.0 + i / 8, T0 + i) for i in range(start, start + count)]


def line(i: int) -> str:
    ns = int(T0 + i) * 1_000_000_000
    return ("temperature,building=lilas,device=t-b3,entrance=lilas/b,floor=lilas/b/3,"
            f"kind=thermometer value={20.0 + i / 8!r} {ns}")


def accounted(sink: InfluxSink) -> int:
    stats = sink.stats()
    return stats["sent_points"] + sum(stats["dropped_points"].values()) + stats["buffered_points"]


def test_readings_become_one_measurement_per_point_tagged_with_their_places(
    server: ScriptedServer, make_sink: SinkFactory,
) -> None:
    values: list[tuple[str, str, Value]] = [
        ("t-b3", "temperature", 21.5),
        ("leak-cave", "water_leak", True),
        ("leak-cave", "water_leak", False),
        ("boiler", "flow temperature", 65),  # a space to escape
        ("meter-31", "volume", 1234),
        ("meter-31", "status", "ok"),  # text: not a series
        ("gone", "temperature", -3.25),  # a device the registry no longer knows
    ]
    with make_sink(server.port) as sink:
        sink.submit(Reading(d, p, v, T0 + 0.123456 + i) for i, (d, p, v) in enumerate(values))
        wait_for(lambda: sink.stats()["sent_points"] == 6)

    ns = [1_717_400_000_123_456_000 + i * 1_000_000_000 for i in range(len(values))]
    assert server.accepted == [
        "temperature,building=lilas,device=t-b3,entrance=lilas/b,floor=lilas/b/3,"
        f"kind=thermometer value=21.5 {ns[0]}",
        "water_leak,building=lilas,device=leak-cave,entrance=lilas/b,floor=lilas/b/basement,"
        f"kind=water_leak_sensor value=1.0 {ns[1]}",
        "water_leak,building=lilas,device=leak-cave,entrance=lilas/b,floor=lilas/b/basement,"
        f"kind=water_leak_sensor value=0.0 {ns[2]}",
        f"flow\\ temperature,building=lilas,device=boiler,kind=boiler value=65.0 {ns[3]}",
        "volume,building=lilas,device=meter-31,entrance=lilas/b,floor=lilas/b/3,"
        f"kind=water_meter value=1234.0 {ns[4]}",
        f"temperature,device=gone value=-3.25 {ns[6]}",
    ]
    request = server.requests[0]
    assert request.query == {"org": "palier", "bucket": "telemetry", "precision": "ns"}
    assert request.authorization == f"Token {TOKEN}"
    stats = sink.stats()
    assert stats["skipped_points"] == {"text": 1}
    assert stats["dropped_points"] == {}
    assert stats["last_error"] is None and stats["last_success_at"] is not None


def test_server_errors_and_throttling_are_retried_until_every_point_arrives_once_in_order(
    server: ScriptedServer, make_sink: SinkFactory,
) -> None:
    server.answer(503, "overloaded")
    server.answer(429, "slow down", **{"Retry-After": "0"})
    server.answer(500)
    with make_sink(server.port, batch_size=40) as sink:
        for start in range(0, 200, 25):
            sink.submit(readings(25, start))
        wait_for(lambda: sink.stats()["sent_points"] == 200)
        stats = sink.stats()

    assert server.accepted == [line(i) for i in range(200)]
    assert [r.status for r in server.requests[:4]] == [503, 429, 500, 204]
    assert stats["dropped_points"] == {}
    assert stats["buffered_points"] == 0
    assert stats["last_error"] == "HTTP 500: Internal Server Error"


def test_while_the_server_is_away_points_wait_on_disk_and_arrive_in_order_when_it_returns(
    make_sink: SinkFactory,
) -> None:
    port = free_port()  # nothing listens there yet
    with make_sink(port) as sink:
        sink.submit(readings(150))
        wait_for(lambda: sink.stats()["last_error"] is not None)
        sink.submit(readings(50, 150))
        stats = sink.stats()
        assert stats["buffered_points"] == 200 and stats["sent_points"] == 0
        assert stats["last_error"] is not None
        assert stats["last_error"].startswith("unreachable")

        late = ScriptedServer(port)
        late.start()
        try:
            wait_for(lambda: sink.stats()["sent_points"] == 200)
        finally:
            late.stop()
    assert late.accepted == [line(i) for i in range(200)]
    assert sink.stats()["buffered_points"] == 0


def test_a_refused_batch_is_dropped_counted_and_reported_and_the_next_ones_flow(
    server: ScriptedServer, make_sink: SinkFactory, caplog: pytest.LogCaptureFixture,
) -> None:
    server.answer(400, "partial write: field type conflict")
    with make_sink(server.port, batch_size=30) as sink:
        sink.submit(readings(30))
        wait_for(lambda: sink.stats()["dropped_points"] != {})
        sink.submit(readings(20, 30))
        wait_for(lambda: sink.stats()["sent_points"] == 20)
        stats = sink.stats()

    assert stats["dropped_points"] == {"http_400": 30}
    assert stats["last_error"] == "HTTP 400: partial write: field type conflict"
    assert server.accepted == [line(i) for i in range(30, 50)]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "dropped 30 points" in errors[0].getMessage()
    assert "field type conflict" in errors[0].getMessage()


def test_a_wrong_token_or_bucket_keeps_the_data_and_retries(
    server: ScriptedServer, make_sink: SinkFactory, caplog: pytest.LogCaptureFixture,
) -> None:
    for status in (401, 404, 403):
        server.answer(status, "unauthorized access" if status != 404 else "bucket not found")
    with make_sink(server.port) as sink:
        sink.submit(readings(10))
        wait_for(lambda: sink.stats()["sent_points"] == 10)
    assert sink.stats()["dropped_points"] == {}
    assert server.accepted == [line(i) for i in range(10)]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, "logged once per outage, not once per retry"
    assert "HTTP 401: unauthorized access" in errors[0]


def test_a_batch_too_large_for_the_server_is_split(
    server: ScriptedServer, make_sink: SinkFactory,
) -> None:
    server.answer(413, "request too large")
    server.answer(413, "request too large")
    with make_sink(server.port, batch_size=8) as sink:
        sink.submit(readings(8))
        wait_for(lambda: sink.stats()["sent_points"] == 8)
    assert [len(r.lines) for r in server.requests] == [8, 4, 2, 2, 2, 2]
    assert server.accepted == [line(i) for i in range(8)]
    assert sink.stats()["dropped_points"] == {}


def test_beyond_the_buffer_bound_the_oldest_points_are_dropped_counted_and_logged(
    make_sink: SinkFactory, caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    size = len(line(0)) + 1
    with make_sink(port, max_buffer_bytes=40 * size) as sink:
        for start in range(0, 300, 5):
            sink.submit(readings(5, start))
        stats = sink.stats()
        dropped = stats["dropped_points"]["buffer_full"]
        assert stats["buffered_bytes"] <= 40 * size
        assert dropped + stats["buffered_points"] == 300
        assert dropped >= 260
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
                    and "full" in r.getMessage()]
        assert len(warnings) == 1, "one warning, not one per submit"
        assert "dropped the oldest" in warnings[0]

        late = ScriptedServer(port)
        late.start()
        try:
            wait_for(lambda: sink.stats()["buffered_points"] == 0)
        finally:
            late.stop()
    assert late.accepted == [line(i) for i in range(dropped, 300)], "the newest survive"
    assert sink.stats()["sent_points"] == 300 - dropped


def test_submit_never_waits_for_a_slow_server(
    server: ScriptedServer, make_sink: SinkFactory,
) -> None:
    server.delay = 1.0
    with make_sink(server.port, batch_size=10) as sink:
        sink.submit(readings(10))
        assert server.received.wait(5), "a request is in flight, answered in a second"
        started = time.perf_counter()
        for start in range(10, 1010, 100):
            sink.submit(readings(100, start))
        elapsed = time.perf_counter() - started
        assert elapsed < 0.5, f"ingest waited {elapsed:.2f}s"
        assert not server.requests, "the slow answer had not come yet"
        server.delay = 0.0
        wait_for(lambda: sink.stats()["sent_points"] == 1010)
    assert server.accepted == [line(i) for i in range(1010)]


def test_points_buffered_when_the_gateway_stopped_are_sent_by_the_next_one(
    make_sink: SinkFactory, tmp_path: Path,
) -> None:
    port = free_port()
    first = make_sink(port)
    first.start()
    first.submit(readings(70))
    first.close(timeout=5)  # the server is away: they stay on disk
    assert first.stats()["buffered_points"] == 70

    server = ScriptedServer(port)
    server.start()
    try:
        with make_sink(port) as second:
            assert second.stats()["buffered_points"] == 70
            second.submit(readings(30, 70))
            wait_for(lambda: second.stats()["sent_points"] == 100)
    finally:
        server.stop()
    assert server.accepted == [line(i) for i in range(100)]


def test_a_disk_that_refuses_writes_costs_counted_points_not_ingest(
    server: ScriptedServer, make_sink: SinkFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    sink = make_sink(server.port)

    def full_disk(lines: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sink._buffer, "append", full_disk)
    sink.submit(readings(12))
    assert sink.stats()["dropped_points"] == {"disk_error": 12}


def test_the_token_stays_out_of_logs_reprs_and_stats(
    server: ScriptedServer, make_sink: SinkFactory, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server.answer(401, "unauthorized access")
    server.answer(400, "bad")
    with make_sink(server.port) as sink:
        sink.submit(readings(5))
        wait_for(lambda: sink.stats()["dropped_points"] != {})
        sink.submit(readings(5, 5))
        wait_for(lambda: sink.stats()["sent_points"] == 5)
    assert caplog.records
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(sink)
    assert TOKEN not in json.dumps(sink.stats())


def test_every_submitted_point_is_accounted_for_under_refusals_retries_and_overflow(
    server: ScriptedServer, make_sink: SinkFactory,
) -> None:
    # Which points a refusal or the bound takes depends on timing; the sum does not.
    server.answer(400, "bad")
    server.answer(503)
    size = len(line(0)) + 1
    with make_sink(server.port, batch_size=20, max_buffer_bytes=200 * size) as sink:
        for start in range(0, 1000, 50):
            sink.submit(readings(50, start))
            assert accounted(sink) == start + 50
        wait_for(lambda: sink.stats()["buffered_points"] == 0)
        stats = sink.stats()
    assert stats["sent_points"] + sum(stats["dropped_points"].values()) == 1000
    assert stats["dropped_points"].get("buffer_full", 0) > 0
    assert stats["sent_points"] == len(server.accepted)
    assert len(set(server.accepted)) == len(server.accepted), "nothing twice"
    assert server.accepted == sorted(server.accepted, key=lambda text: int(text.split()[-1])), \
        "in order"


def test_the_token_comes_from_the_environment() -> None:
    assert token_from_env({"PALIER_INFLUX_TOKEN": "abc"}) == "abc"
    with pytest.raises(TelemetryError, match=r"\$PALIER_INFLUX_TOKEN"):
        token_from_env({})


def test_close_sends_what_is_buffered_before_stopping(
    server: ScriptedServer, make_sink: SinkFactory,
) -> None:
    sink = make_sink(server.port, flush_interval=60.0)
    sink.start()
    sink.submit(readings(30))
    sink.close(timeout=5)
    assert server.accepted == [line(i) for i in range(30)]
    assert sink.stats()["buffered_points"] == 0
    with pytest.raises(RuntimeError, match="after close"):
        sink.submit(readings(1))
