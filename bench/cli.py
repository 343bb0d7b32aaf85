"""``python -m bench``: run the suite, print the table, write the JSON.

Sections run one after the other on one private Mosquitto; a section that cannot run
is reported as failed or skipped with its reason, and the others still run. Each
figure is the median of ``--runs`` runs, with the min and the max; ratios are taken
within each run (same broker, same traffic, same moment) before their median.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import BenchError, nodered
from bench.broker import Mosquitto, mosquitto_binary
from bench.feed import feed_load, postgres_database
from bench.ingest import drain_counter, drain_palier, palier_filters, prime
from bench.installation import Catalogue, catalogue, write_installation
from bench.live import PalierProcess, latency, memory_and_live_ingest
from bench.procs import REPO, module, run_json
from bench.report import TARGETS, render_table
from bench.sizes import FULL, QUICK, Sizes
from bench.stats import latency_summary, spread
from bench.traffic import TrafficGenerator, write_traffic

DEFAULT_OUT = REPO / "bench" / "results" / "latest.json"
QUICK_OUT = REPO / "bench" / "results" / "quick.json"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, one run: proves the suite works (CI), measures nothing")
    parser.add_argument("--peers", action="store_true",
                        help="also drain the ingest backlog with Node-RED "
                             "(installed with npm on first use)")
    parser.add_argument("--runs", type=int, default=None,
                        help="runs per figure (default: 3, or 1 with --quick)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"JSON file to write (default: {DEFAULT_OUT.relative_to(REPO)}, "
                             f"or {QUICK_OUT.relative_to(REPO)} with --quick)")
    parser.add_argument("--only", action="append",
                        choices=("ingest", "live", "feed-sqlite", "feed-postgres"),
                        help="run only these sections (repeatable)")
    parser.add_argument("--postgres", default=os.environ.get(
        "PALIER_BENCH_POSTGRES", os.environ.get(
            "PALIER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")),
        help="admin URL of the PostgreSQL server the feed benchmark creates its database on")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return parser


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    info: dict[str, Any] = {
        "cores": os.cpu_count(), "cpu": model, "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        out = subprocess.run([mosquitto_binary(), "-h"], capture_output=True, text=True,
                             timeout=5, check=False).stdout
        info["mosquitto"] = out.splitlines()[0].split()[-1] if out else "?"
    except (BenchError, OSError, subprocess.SubprocessError, IndexError):
        info["mosquitto"] = "?"
    node = shutil.which("node")
    if node:
        info["node"] = subprocess.run([node, "--version"], capture_output=True, text=True,
                                      timeout=5, check=False).stdout.strip()
    return info


class Suite:
    """One invocation: sizes, a scratch folder, the broker, and what each section found."""

    def __init__(self, sizes: Sizes, runs: int, peers: bool, scratch: Path,
                 postgres_url: str) -> None:
        self.sizes = sizes
        self.runs = runs
        self.peers = peers
        self.scratch = scratch
        self.postgres_url = postgres_url
        self.cat: Catalogue = catalogue(sizes.buildings)
        self.sections: dict[str, dict[str, Any]] = {}

    def log(self, text: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    def guarded(self, name: str, body: Callable[[], dict[str, Any]]) -> None:
        """Run a section; a failure is recorded with its reason and the suite goes on."""
        self.log(f"{name}: starting")
        began = time.monotonic()
        try:
            self.sections[name] = {"status": "ok", **body()}
        except BenchError as exc:
            reason = str(exc)
            status = "skipped" if reason.startswith("skipped:") else "failed"
            self.sections[name] = {"status": status, "reason": reason.removeprefix("skipped: ")}
            self.log(f"{name}: {status}: {reason}")
        except Exception as exc:  # a bug in a section must not hide the others' figures
            self.sections[name] = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}",
                                   "traceback": traceback.format_exc()}
            self.log(f"{name}: failed:\n{traceback.format_exc()}")
        self.sections[name]["section_seconds"] = time.monotonic() - began
        self.log(f"{name}: done in {time.monotonic() - began:.0f} s")

    # -- ingest ---------------------------------------------------------------------------

    def ingest(self, broker: Mosquitto, installation_dir: Path, traffic: Path) -> dict[str, Any]:
        from gateway.config.loader import load_installation

        sizes, n = self.sizes, self.sizes.messages
        installation = load_installation(installation_dir)
        filters = palier_filters(installation)
        peers_reason = None
        if self.peers:
            try:
                nodered.ensure_installed(self.scratch / "npm.log")
            except BenchError as exc:
                peers_reason = str(exc)
                self.log(f"Node-RED: {peers_reason}")
        runs: list[dict[str, Any]] = []
        timeout = max(120.0, n / 500)
        for run in range(self.runs):
            tag = f"{run}-{int(time.time())}"
            ids = {"palier": f"bench-palier-{tag}", "paho": f"bench-paho-{tag}",
                   "gmqtt": f"bench-gmqtt-{tag}", "nodered": f"bench-nodered-{tag}"}
            prime("paho", broker.port, ids["palier"], filters)
            prime("paho", broker.port, ids["paho"])
            prime("gmqtt", broker.port, ids["gmqtt"])
            if self.peers and peers_reason is None:
                prime("paho", broker.port, ids["nodered"])
            self.log(f"ingest run {run + 1}/{self.runs}: publishing {n} messages")
            published = run_json(module("bench.publisher", "--port", broker.port, "--traffic",
                                        traffic, "--connections", sizes.publisher_connections),
                                 timeout=timeout, log=self.scratch / "publisher.log")
            record: dict[str, Any] = {"publisher": published}
            self.log("  bare paho-mqtt draining")
            record["paho"] = drain_counter("paho", broker.port, ids["paho"], n, timeout)
            self.log("  bare gmqtt draining")
            record["gmqtt"] = drain_counter("gmqtt", broker.port, ids["gmqtt"], n, timeout)
            self.log("  Palier draining")
            record["palier"] = drain_palier(installation, broker.port, ids["palier"], n,
                                            self.scratch / f"ingest-{run}", timeout).as_dict()
            if self.peers and peers_reason is None:
                self.log("  Node-RED draining")
                try:
                    record["nodered"] = nodered.drain(self.scratch / f"nodered-{run}",
                                                      broker.port, ids["nodered"], n, timeout)
                except BenchError as exc:
                    peers_reason = str(exc)
            self.log(f"  palier {record['palier']['rate']:.0f}/s, paho "
                     f"{record['paho']['rate']:.0f}/s, gmqtt {record['gmqtt']['rate']:.0f}/s"
                     + (f", Node-RED {record['nodered']['rate']:.0f}/s"
                        if "nodered" in record else ""))
            runs.append(record)
        figures: dict[str, Any] = {
            "palier_msgs_per_s": spread([r["palier"]["rate"] for r in runs]),
            "palier_readings_per_s": spread([r["palier"]["readings_per_s"] for r in runs]),
            "paho_msgs_per_s": spread([r["paho"]["rate"] for r in runs]),
            "gmqtt_msgs_per_s": spread([r["gmqtt"]["rate"] for r in runs]),
            "palier_over_paho": spread([r["palier"]["rate"] / r["paho"]["rate"] for r in runs]),
            "publisher_msgs_per_s": spread([r["publisher"]["rate"] for r in runs]),
        }
        if self.peers:
            with_peer = [r for r in runs if "nodered" in r]
            if with_peer:
                figures["nodered_msgs_per_s"] = spread([r["nodered"]["rate"] for r in with_peer])
                figures["palier_over_nodered"] = spread(
                    [r["palier"]["rate"] / r["nodered"]["rate"] for r in with_peer])
                figures["nodered_version"] = nodered.version()
            else:
                figures["nodered"] = {"status": "skipped", "reason": peers_reason}
        return {"messages": n, "devices": len(self.cat.devices),
                "rules": len(installation.rules), "figures": figures, "runs": runs}

    # -- palier run: memory, live ingest, latency -----------------------------------------

    def live(self, broker: Mosquitto, installation_dir: Path, traffic: Path,
             background: Path) -> dict[str, Any]:
        runs: list[dict[str, Any]] = []
        for run in range(self.runs):
            palier = PalierProcess(installation_dir, broker.port, self.scratch / f"live-{run}")
            self.log(f"live run {run + 1}/{self.runs}: starting palier run")
            try:
                palier.start()
                memory = memory_and_live_ingest(palier, traffic, self.sizes.messages,
                                                self.sizes.publisher_connections,
                                                timeout=max(120.0, self.sizes.messages / 300))
                self.log(f"  RSS {memory['rss_after_ingest_mb']:.0f} MB; latency for "
                         f"{self.sizes.latency_seconds:g} s")
                lat = latency(palier, self.cat, background, self.sizes.latency_seconds,
                              self.sizes.latency_rate)
            finally:
                palier.stop()
            runs.append({"memory": memory, "latency": {**lat, **latency_summary(
                lat["latencies_ms"])}})
            self.log(f"  latency p50 {runs[-1]['latency']['p50_ms']:.1f} ms, p99 "
                     f"{runs[-1]['latency']['p99_ms']:.1f} ms via {lat['method']}")
        all_ms = [x for r in runs for x in r["latency"]["latencies_ms"]]
        figures = {
            "rss_idle_mb": spread([r["memory"]["rss_idle_mb"] for r in runs]),
            "rss_after_ingest_mb": spread([r["memory"]["rss_after_ingest_mb"] for r in runs]),
            "rss_peak_mb": spread([r["memory"]["rss_peak_mb"] for r in runs]),
            "live_msgs_per_s": spread([r["memory"]["live_rate"] for r in runs]),
            "latency_p50_ms": spread([r["latency"]["p50_ms"] for r in runs]),
            "latency_p99_ms": spread([r["latency"]["p99_ms"] for r in runs]),
            "latency_max_ms": spread([r["latency"]["max_ms"] for r in runs]),
            "latency_all_runs": latency_summary(all_ms),
            "latency_method": runs[0]["latency"]["method"] if runs else "",
            "latency_missed": sum(len(r["latency"]["missed"]) for r in runs),
            "status_api_errors": sum(r["memory"]["status_api_errors"] for r in runs),
        }
        return {"devices": len(self.cat.devices), "rules": self.sizes.memory_rules,
                "figures": figures, "runs": runs}

    # -- feed -----------------------------------------------------------------------------

    def feed(self, broker: Mosquitto, database_url: str, label: str) -> dict[str, Any]:
        s = self.sizes
        runs = []
        for run in range(self.runs):
            self.log(f"feed {label} run {run + 1}/{self.runs}")
            runs.append(feed_load(database_url, self.cat, self.scratch / f"feed-{label}-{run}",
                                  broker.port, posts=s.feed_posts, members=s.feed_members,
                                  clients=s.feed_clients, seconds=s.feed_seconds,
                                  reseed=run == 0))
            loaded = runs[-1]["loaded"]
            self.log(f"  {loaded['clients']} clients: p50 {loaded['p50_ms']:.1f} ms, "
                     f"p99 {loaded['p99_ms']:.1f} ms, {loaded['rate']:.0f} req/s")
        figures = {
            "p50_ms": spread([r["loaded"]["p50_ms"] for r in runs]),
            "p99_ms": spread([r["loaded"]["p99_ms"] for r in runs]),
            "requests_per_s": spread([r["loaded"]["rate"] for r in runs]),
            "single_client_p50_ms": spread([r["single"]["p50_ms"] for r in runs]),
            "single_client_p99_ms": spread([r["single"]["p99_ms"] for r in runs]),
            "errors": sum(r["loaded"]["errors"] + r["single"]["errors"] for r in runs),
            "requests": sum(r["loaded"]["requests"] + r["single"]["requests"] for r in runs),
        }
        return {"posts": s.feed_posts, "members": s.feed_members, "clients": s.feed_clients,
                "figures": figures, "runs": runs}

    def feed_postgres(self, broker: Mosquitto) -> dict[str, Any]:
        """The feed on a fresh PostgreSQL database; skipped when the server is unusable."""
        with contextlib.ExitStack() as stack:
            try:
                url = stack.enter_context(postgres_database(self.postgres_url))
            except BenchError as exc:
                raise BenchError(f"skipped: {exc}") from exc
            return self.feed(broker, url, "postgres")

    # -- all ------------------------------------------------------------------------------

    def run(self, only: Sequence[str] | None) -> None:
        wanted = set(only or ("ingest", "live", "feed-sqlite", "feed-postgres"))
        s = self.sizes
        self.log(f"{s.name} mode: {s.devices} devices in {s.buildings} buildings, "
                 f"{s.messages} messages, {self.runs} run(s)")
        ingest_dir = write_installation(self.scratch / "installation", self.cat,
                                        rule_count=s.rules)
        memory_dir = write_installation(self.scratch / "installation-memory", self.cat,
                                        rule_count=s.memory_rules)
        traffic = self.scratch / "traffic.bin"
        write_traffic(traffic, TrafficGenerator(self.cat).messages(s.messages))
        background = self.scratch / "background.bin"
        write_traffic(background, TrafficGenerator(self.cat, seed=9, incidents=False)
                      .messages(max(1, int(s.latency_rate * (s.latency_seconds + 4)))))
        with Mosquitto(self.scratch / "broker") as broker:
            if "ingest" in wanted:
                self.guarded("ingest", lambda: self.ingest(broker, ingest_dir, traffic))
            if "live" in wanted:
                self.guarded("live", lambda: self.live(broker, memory_dir, traffic, background))
            if "feed-sqlite" in wanted:
                url = f"sqlite:///{self.scratch / 'feed.sqlite3'}"
                self.guarded("feed-sqlite", lambda: self.feed(broker, url, "sqlite"))
            if "feed-postgres" in wanted:
                self.guarded("feed-postgres", lambda: self.feed_postgres(broker))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sizes = QUICK if args.quick else FULL
    runs = args.runs or (1 if args.quick else 3)
    out: Path = args.out or (QUICK_OUT if args.quick else DEFAULT_OUT)
    scratch = Path(tempfile.mkdtemp(prefix="palier-bench-"))
    started = datetime.now(UTC)
    load_at_start = list(os.getloadavg())
    suite = Suite(sizes, runs, args.peers, scratch, args.postgres)
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    try:
        suite.run(args.only)
    finally:
        if args.keep:
            suite.log(f"scratch folder kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    info = machine()
    info["load_average_at_start"] = load_at_start
    info["load_average_at_end"] = list(os.getloadavg())
    result = {
        "command": command.strip(),
        "mode": sizes.name,
        "runs": runs,
        "peers": args.peers,
        "started_at": started.isoformat(timespec="seconds"),
        "seconds": (datetime.now(UTC) - started).total_seconds(),
        "machine": info,
        "sizes": {k: getattr(sizes, k) for k in sizes.__dataclass_fields__} | {
            "devices": sizes.devices},
        "targets": TARGETS,
        "sections": suite.sections,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(render_table(result))
    print(f"\nJSON: {out}")
    failed = [n for n, s in suite.sections.items() if s["status"] == "failed"]
    return 1 if failed else 0
