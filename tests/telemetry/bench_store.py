"""How many readings a second ``TelemetryStore.write_batch`` sustains (a measurement, not a test).

    python -m tests.telemetry.bench_store [URL] [--batches N]

Writes N batches of 1,000 readings (200 devices × 5 points, 10 ms apart, values
random) into a fresh store — a temporary SQLite file when no URL is given — and
prints readings/s. On a shared machine, run it a few times and keep the best.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from devices.records import Reading
from gateway.telemetry.store import TelemetryStore


def batches(count: int, start: float, seed: int = 1) -> list[list[Reading]]:
    rng = random.Random(seed)
    devices = [f"dev-{i:03d}" for i in range(200)]
    points = ["temperature", "humidity", "battery", "power", "energy"]
    out, ts = [], start
    for _ in range(count):
        batch = []
        for _ in range(1000):
            ts += 0.01
            batch.append(Reading(rng.choice(devices), rng.choice(points), rng.random() * 30, ts))
        out.append(batch)
    return out


def measure(url: str, count: int) -> tuple[float, float]:
    """(readings/s over all batches, seconds to write one batch again)."""
    now = time.time()
    work = batches(count, now)
    with TelemetryStore(url, clock=lambda: now + 3600) as store:
        began = time.perf_counter()
        written = sum(store.write_batch(batch) for batch in work)
        elapsed = time.perf_counter() - began
        began = time.perf_counter()
        store.write_batch(work[0])
        again = time.perf_counter() - began
    return written / elapsed, again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="a SQLAlchemy URL (default: a temporary SQLite)")
    parser.add_argument("--batches", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{Path(folder) / 'telemetry.sqlite3'}"
        rate, again = measure(url, args.batches)
    print(f"{rate:,.0f} readings/s in batches of 1,000; the same batch again: "
          f"{again * 1000:.1f} ms")


if __name__ == "__main__":
    main()
