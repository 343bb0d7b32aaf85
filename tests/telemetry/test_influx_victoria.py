"""The InfluxDB sink against a real server: VictoriaMetrics' InfluxDB v2 write API.

Each test writes under a building id of its own and reads back only that
building's series, so the tests share one server. What is compared is exact:
metric name (``<point>_value``), labels, value and millisecond timestamp, and
how many samples each (series, timestamp) has — VictoriaMetrics keeps duplicates,
so "exactly once" is checked, not assumed (``test_the_server_would_show_a_duplicate``).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devices.records import Device, Reading, Value
from gateway.backoff import Backoff
from gateway.telemetry.influx import InfluxSink
from social.site import PlaceNode
from tests.telemetry.victoria import VictoriaMetrics, binary

pytestmark = pytest.mark.integration

#: (series name, sorted labels, timestamp in ms) -> value
Sample = tuple[str, tuple[tuple[str, str], ...], int]


@pytest.fixture(scope="module")
def victoria_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    if binary() is None:
        pytest.fail("victoria-metrics is not installed: run the README's test command "
                    "(./dev test), which installs it")
    server = VictoriaMetrics(tmp_path_factory.mktemp("victoria"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def victoria(victoria_server: VictoriaMetrics) -> VictoriaMetrics:
    """The module's server, running (a test that failed while it was stopped restarts it)."""
    if victoria_server.proc is None:
        victoria_server.start()
    return victoria_server


class Site:
    """A building of its own for one test, with four devices at four levels of it."""

    def __init__(self) -> None:
        self.building = f"b{uuid.uuid4().hex[:10]}"
        b = self.building
        nodes = [
            PlaceNode("evry", None, "city", "Évry"),
            PlaceNode("pyramides", "evry", "neighbourhood", "Pyramides"),
            PlaceNode(b, "pyramides", "building", "Les Lilas"),
            PlaceNode(f"{b}/a", b, "entrance", "Entrée A"),
            PlaceNode(f"{b}/a/2", f"{b}/a", "floor", "2e étage"),
            PlaceNode(f"{b}/a/2/21", f"{b}/a/2", "unit", "appartement 21"),
            PlaceNode(f"{b}/a/basement", f"{b}/a", "floor", "sous-sol"),
        ]
        self.places = {node.id: node for node in nodes}
        self.devices: dict[str, Device] = {}
        #: (device, point, value at i) in the order readings cycle through them
        self.points: list[tuple[str, str, Callable[[int], Value]]] = []
        self.add("thermo-2", "thermometer", f"{b}/a/2", "temperature", lambda i: 19 + i / 16)
        self.add("leak-cave", "water_leak_sensor", f"{b}/a/basement", "water_leak",
                 lambda i: i % 3 == 0)
        self.add("boiler", "boiler", b, "flow_temperature", lambda i: 40 + i % 30)
        self.add("meter-21", "water_meter", f"{b}/a/2/21", "volume", lambda i: 1000 + i)
        self.base = int(time.time()) - 3600  # recent: inside the server's retention

    def add(self, id: str, kind: str, place: str, point: str,
            value: Callable[[int], Value]) -> None:
        self.devices[id] = Device(id=id, bridge_id="z2m", source=id, kind=kind,
                                  place_id=place, name=id, points=())
        self.points.append((id, point, value))

    def reading(self, i: int) -> Reading:
        """Reading number ``i``: devices in turn, 125 ms apart (exact in binary floats)."""
        device_id, point, value = self.points[i % len(self.points)]
        return Reading(device_id, point, value(i), self.base + i / 8)

    def readings(self, start: int, count: int) -> list[Reading]:
        return [self.reading(i) for i in range(start, start + count)]

    def expected(self, indices: range | list[int]) -> Counter[Sample]:
        samples: Counter[Sample] = Counter()
        for i in indices:
            reading = self.reading(i)
            device = self.devices[reading.device_id]
            labels = {"device": device.id, "kind": device.kind}
            for level in ("building", "entrance", "floor"):
                node = self.places[device.place_id]
                while node.kind != level and node.parent_id is not None:
                    node = self.places[node.parent_id]
                if node.kind == level:
                    labels[level] = node.id
            value = float(reading.value)
            samples[(f"{reading.point}_value", tuple(sorted(labels.items())),
                     round(reading.at * 1000), value)] += 1  # type: ignore[index]
        return samples


def exported(server: VictoriaMetrics, site: Site) -> Counter[Sample]:
    samples: Counter[Sample] = Counter()
    for series in server.export(f'{{building="{site.building}"}}'):
        labels = tuple(sorted(series.labels.items()))
        for value, ts in zip(series.values, series.timestamps, strict=True):
            samples[(series.name, labels, ts, value)] += 1  # type: ignore[index]
    return samples


SinkFactory = Callable[..., InfluxSink]


@pytest.fixture
def make_sink(victoria_server: VictoriaMetrics, tmp_path: Path) -> Iterator[SinkFactory]:
    sinks: list[InfluxSink] = []

    def _make(site: Site, **overrides: Any) -> InfluxSink:
        options: dict[str, Any] = dict(
            device_lookup=site.devices.get, places=site.places,
            buffer_dir=tmp_path / "buffer", batch_size=100, flush_interval=0.05,
            backoff=Backoff(base=0.05, cap=0.4), timeout=5.0)
        options.update(overrides)
        sink = InfluxSink(victoria_server.url, "palier", "telemetry", "token", **options)
        sinks.append(sink)
        sink.start()
        return sink

    yield _make
    for sink in sinks:
        sink.close(timeout=5)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout}s: {what}")
        time.sleep(0.02)


def test_the_server_would_show_a_duplicate(victoria: VictoriaMetrics) -> None:
    """The witness is sound: a point written twice comes back twice."""
    building = f"b{uuid.uuid4().hex[:10]}"
    line = f"temperature,building={building},device=d value=1.5 {int(time.time()) - 60}000000000"
    assert victoria.write(line) == 204
    assert victoria.write(line) == 204
    [series] = victoria.export(f'{{building="{building}"}}')
    assert series.values == [1.5, 1.5] and len(set(series.timestamps)) == 1


def test_every_point_arrives_exactly_once_across_a_server_outage(
    victoria: VictoriaMetrics, make_sink: SinkFactory,
) -> None:
    site = Site()
    sink = make_sink(site)
    sink.submit([Reading("thermo-2", "mode", "eco", site.base)])  # text: skipped, counted
    n, m = 400, 300
    for start in range(0, n, 50):
        sink.submit(site.readings(start, 50))
    wait_for(lambda: sink.stats()["sent_points"] == n, what="the first points sent")
    assert exported(victoria, site) == site.expected(range(n))

    victoria.stop()
    for start in range(n, n + m, 50):  # ingest goes on for a while
        sink.submit(site.readings(start, 50))
        time.sleep(0.1)
    wait_for(lambda: sink.stats()["last_error"] is not None, what="the outage noticed")
    stats = sink.stats()
    assert stats["sent_points"] == n
    assert stats["buffered_points"] == m
    assert stats["buffered_bytes"] > 0
    assert stats["last_error"] is not None and stats["last_error"].startswith("unreachable")

    victoria.start()
    wait_for(lambda: sink.stats()["sent_points"] == n + m, what="the buffer flushed")
    assert exported(victoria, site) == site.expected(range(n + m)), \
        "every point once: no gap, no duplicate"
    stats = sink.stats()
    assert stats["buffered_points"] == 0 and stats["buffered_bytes"] == 0
    assert stats["dropped_points"] == {}
    assert stats["skipped_points"] == {"text": 1}


def test_beyond_the_buffer_bound_the_oldest_are_dropped_counted_and_the_rest_arrive(
    victoria: VictoriaMetrics, make_sink: SinkFactory,
) -> None:
    site = Site()
    victoria.stop()
    sink = make_sink(site, max_buffer_bytes=12_000)  # about 80 of these points
    total = 400
    for start in range(0, total, 10):
        sink.submit(site.readings(start, 10))
    stats = sink.stats()
    dropped = stats["dropped_points"].get("buffer_full", 0)
    assert stats["sent_points"] == 0
    assert dropped > 0
    assert dropped + stats["buffered_points"] == total
    assert stats["buffered_bytes"] <= 12_000

    victoria.start()
    wait_for(lambda: sink.stats()["buffered_points"] == 0, what="the buffer flushed")
    assert sink.stats()["sent_points"] == total - dropped
    assert exported(victoria, site) == site.expected(range(dropped, total)), \
        "the newest arrive once each, the oldest not at all"


def test_a_batch_the_server_refuses_is_dropped_and_counted_and_the_next_ones_arrive(
    victoria: VictoriaMetrics, make_sink: SinkFactory,
) -> None:
    site = Site()
    # VictoriaMetrics answers 400 when it has read more than -influx.maxLineSize (256 KiB)
    # of a body without finding a newline; with a 1 MiB line that happens whatever
    # sizes the network hands the body over in.
    site.add("x" * (1 << 20), "thermometer", f"{site.building}/a/2", "temperature",
             lambda i: 1.0)
    sink = make_sink(site)
    good = [i for i in range(20) if i % 5 != 4]
    sink.submit([site.reading(i) for i in good[:8]])
    wait_for(lambda: sink.stats()["sent_points"] == 8, what="the first batch")
    sink.submit([site.reading(4)])  # the oversized device's reading, alone in its batch
    wait_for(lambda: sink.stats()["dropped_points"] != {}, what="the refusal")
    sink.submit([site.reading(i) for i in good[8:]])
    wait_for(lambda: sink.stats()["sent_points"] == len(good), what="the next batch")

    stats = sink.stats()
    assert stats["dropped_points"] == {"http_400": 1}
    assert stats["last_error"] is not None and stats["last_error"].startswith("HTTP 400")
    assert "too long line" in stats["last_error"]
    assert exported(victoria, site) == site.expected(good)
