"""Scale-out: the same broker backlog drained by 1, 2, 3... ``palier run --partition i/k`` workers.

Each worker is a real ``palier run`` process (its own interpreter, so the workers
really run in parallel), with its own persistent session and SQLite telemetry
store, all sharing one PostgreSQL database for the social data — the deployment
``docs/deploy.md`` describes. For each worker count:

1. a fresh Mosquitto and a fresh PostgreSQL database;
2. every worker starts once, so that its persistent session subscribes, and stops;
3. the publisher sends the whole traffic file at QoS 1 (the backlog of an outage);
4. every worker starts again and drains its share. Each worker's rate runs from the
   first to the last change of its ``received`` counter (its status API, polled every
   50 ms); the figure is the wall-clock rate, from the first message any worker
   reports to the last; the sum of each worker's own rate is printed too (it overstates
   when workers start apart and barely overlap). Each worker's share
   is printed too: the hash of building ids decides it, so shares are near, not
   exactly, equal.

``python -m bench.scaleout --workers 1,2,3`` prints a Markdown table and writes JSON.
The machine's cores bound what it can show: on 2 cores, the broker, the database and
the workers share them, so 3 workers cannot be 3 times 1.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import BenchError
from bench.broker import Mosquitto
from bench.installation import INSTALLER, PASSWORD, catalogue, write_installation
from bench.live import palier_command
from bench.procs import free_port, module, run_json, start, stop, wait_for_port
from bench.traffic import TrafficGenerator, write_traffic


class Worker:
    """One ``palier run --partition index/count`` process."""

    def __init__(self, index: int, count: int, config: Path, broker_port: int,
                 database_url: str, workdir: Path) -> None:
        self.index, self.count = index, count
        self.config, self.broker_port = config, broker_port
        self.database_url = database_url
        self.workdir = workdir
        self.api_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.token: str | None = None

    @property
    def log(self) -> Path:
        return self.workdir / "palier.log"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log.write_text("")
        self.proc = start(
            [*palier_command(), "run", "--config", str(self.config),
             "--broker", f"mqtt://127.0.0.1:{self.broker_port}",
             "--database", self.database_url, "--listen", f"127.0.0.1:{self.api_port}",
             "--partition", f"{self.index}/{self.count}", "--no-relay-events"],
            cwd=self.workdir, log=self.log)

    def wait_ready(self, timeout: float = 180.0) -> None:
        assert self.proc is not None
        wait_for_port(self.api_port, timeout=timeout, proc=self.proc)
        deadline = time.monotonic() + 30
        # Subscriptions acknowledged, not just connected: a worker stopped before its
        # SUBACKs would leave its share of the backlog unqueued.
        while "the broker confirmed" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"worker {self.index} did not connect (log: {self.log})")
            time.sleep(0.05)

    def received(self, client: httpx.Client) -> int:
        api = f"http://127.0.0.1:{self.api_port}"
        if self.token is None:
            reply = client.post(f"{api}/api/auth/token",
                                data={"username": INSTALLER, "password": PASSWORD})
            reply.raise_for_status()
            self.token = reply.json()["access_token"]
        reply = client.get(f"{api}/api/gateway/status",
                           headers={"Authorization": f"Bearer {self.token}"})
        if reply.status_code >= 500:
            return -1
        reply.raise_for_status()
        return int(reply.json()["stats"]["received"])

    def stop(self) -> None:
        stop(self.proc, grace=30)
        self.proc = None


def _received(worker: Worker, client: httpx.Client) -> int:
    """What a worker has received so far; 0 while its API is still starting."""
    try:
        return max(worker.received(client), 0)
    except httpx.HTTPError:
        if worker.proc is not None and worker.proc.poll() is not None:
            raise BenchError(f"worker {worker.index} exited (log: {worker.log})") from None
        return 0


def _fresh_postgres(admin_url: str) -> tuple[str, str]:
    import psycopg

    name = f"palier_scaleout_{secrets.token_hex(4)}"
    plain = admin_url.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    return f"{base}/{name}", name


def _drop_postgres(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def one_run(count: int, config: Path, traffic: Path, messages: int, scratch: Path,
            admin_url: str, timeout: float) -> dict[str, Any]:
    database_url, name = _fresh_postgres(admin_url)
    try:
        with Mosquitto(scratch / f"broker-{count}") as broker:
            workers = [Worker(i, count, config, broker.port, database_url,
                              scratch / f"w{count}-{i}") for i in range(1, count + 1)]
            for worker in workers:  # one at a time: the first one migrates the database
                worker.start()
                worker.wait_ready()
                worker.stop()
            run_json(module("bench.publisher", "--port", broker.port, "--traffic", traffic,
                            "--connections", 4), timeout=timeout)
            for worker in workers:
                worker.start()
            # Per worker: when its counter first moved, its count then, when it last moved.
            first: list[float | None] = [None] * count
            at_first = [0] * count
            last = [0.0] * count
            shares: list[int] = [0] * count
            deadline = time.monotonic() + timeout
            try:
                with httpx.Client(timeout=30) as client:
                    while True:
                        now = time.perf_counter()
                        for i, worker in enumerate(workers):
                            got = _received(worker, client)
                            if got > shares[i]:
                                if first[i] is None:
                                    first[i], at_first[i] = now, got
                                last[i] = now
                            shares[i] = max(shares[i], got)
                        total = sum(shares)
                        if total >= messages:
                            break
                        if time.monotonic() > deadline:
                            raise BenchError(f"{count} workers drained {total} of {messages}")
                        time.sleep(0.05)
            finally:
                for worker in workers:
                    worker.stop()
            rates = [(shares[i] - at_first[i]) / max(last[i] - (first[i] or last[i]), 1e-6)
                     for i in range(count)]
            began = min(f for f in first if f is not None)
            return {"workers": count, "messages": messages, "shares": shares,
                    "rate": (messages - sum(at_first)) / max(max(last) - began, 1e-6),
                    "worker_rates": rates, "sum_of_worker_rates": sum(rates)}
    finally:
        _drop_postgres(admin_url, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scaleout", description=__doc__)
    parser.add_argument("--workers", default="1,2,3", help="worker counts, e.g. 1,2,3")
    parser.add_argument("--buildings", type=int, default=100)
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--postgres", default=os.environ.get(
        "PALIER_BENCH_POSTGRES", os.environ.get(
            "PALIER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")))
    parser.add_argument("--out", type=Path, default=Path("bench/results/scaleout.json"))
    args = parser.parse_args(argv)
    counts = [int(part) for part in args.workers.split(",") if part.strip()]
    results: dict[int, list[dict[str, Any]]] = {count: [] for count in counts}
    with tempfile.TemporaryDirectory(prefix="palier-scaleout-") as tmp:
        scratch = Path(tmp)
        cat = catalogue(args.buildings)
        config = write_installation(scratch / "installation", cat, rule_count=50)
        traffic = scratch / "traffic.jsonl"
        write_traffic(traffic, TrafficGenerator(cat).messages(args.messages))
        for run in range(args.runs):
            for count in counts:
                result = one_run(count, config, traffic, args.messages,
                                 scratch / f"run{run}", args.postgres, args.timeout)
                results[count].append(result)
                print(f"run {run + 1}: {count} worker(s): {result['rate']:,.0f} msg/s "
                      f"(shares {result['shares']})", file=sys.stderr, flush=True)
    base = statistics.median(r["rate"] for r in results[counts[0]])
    print("| workers | msg/s, wall clock, median | min | max | × the first row | "
          "sum of each worker's rate | shares of the last run |")
    print("|---|---|---|---|---|---|---|")
    for count in counts:
        rates = [r["rate"] for r in results[count]]
        print(f"| {count} | {statistics.median(rates):,.0f} | {min(rates):,.0f} | "
              f"{max(rates):,.0f} | {statistics.median(rates) / base:.2f}× | "
              f"{statistics.median(r['sum_of_worker_rates'] for r in results[count]):,.0f} | "
              f"{results[count][-1]['shares']} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"command": " ".join(sys.argv), "results": results},
                                   indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
