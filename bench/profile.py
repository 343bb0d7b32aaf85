"""``python -m bench.profile``: where ``palier run`` spends its time while it drains a backlog.

The ingest benchmark's setting (generated installation, private Mosquitto, the
traffic file published at QoS 1 while the gateway is away), then ``palier run``
comes back and drains it while py-spy samples every thread of it. Writes, in
``--out`` (default ``bench/results/profile``):

* ``ingest.collapsed`` — py-spy's raw collapsed stacks;
* ``ingest.svg`` — a flame graph of them (the widest towers are the costs);
* ``ingest.txt`` — the top functions, inclusive and self, as shares of all samples,
  per thread family (event loop, database threads).

py-spy needs ptrace: root, or ``kernel.yama.ptrace_scope`` at 0, or CAP_SYS_PTRACE.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench import BenchError
from bench.broker import Mosquitto
from bench.flame import render, render_svg, summarize
from bench.ingest import palier_filters, prime
from bench.installation import catalogue, write_installation
from bench.live import PalierProcess
from bench.procs import REPO, module, run_json, start
from bench.sizes import FULL, QUICK
from bench.traffic import TrafficGenerator, write_traffic

#: The client id ``palier run`` connects with.
CLIENT_ID = "palier-gateway"


def py_spy() -> str:
    found = Path(sys.executable).parent / "py-spy"
    if found.exists():
        return str(found)
    which = shutil.which("py-spy")
    if which is None:
        raise BenchError("py-spy is not installed: pip install -e '.[bench]'")
    return which


def profile(out: Path, *, quick: bool, rate: int, messages: int | None = None,
            idle: bool = False) -> Path:
    from gateway.config.loader import load_installation

    sizes = QUICK if quick else FULL
    count = messages or sizes.messages
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="palier-profile-"))
    try:
        cat = catalogue(sizes.buildings)
        config = write_installation(scratch / "installation", cat, rule_count=sizes.rules)
        traffic = scratch / "traffic.bin"
        write_traffic(traffic, TrafficGenerator(cat).messages(count))
        filters = palier_filters(load_installation(config))
        with Mosquitto(scratch / "broker") as broker:
            prime("paho", broker.port, CLIENT_ID, filters)
            print(f"publishing {count} messages", file=sys.stderr)
            run_json(module("bench.publisher", "--port", broker.port, "--traffic", traffic,
                            "--connections", sizes.publisher_connections), timeout=900)
            palier = PalierProcess(config, broker.port, scratch / "palier")
            palier.start()
            collapsed = out / "ingest.collapsed"
            spy = start([py_spy(), "record", "--pid", str(palier.pid), "--rate", str(rate),
                         "--threads", "--format", "raw", "--output", str(collapsed),
                         "--nonblocking", *(["--idle"] if idle else [])],
                        log=scratch / "py-spy.log")
            try:
                deadline = time.monotonic() + max(300.0, count / 200)
                while palier.received() < count:
                    if time.monotonic() > deadline:
                        raise BenchError("the drain did not finish in time")
                    if spy.poll() is not None:
                        raise BenchError(f"py-spy stopped: {(scratch / 'py-spy.log').read_text()}")
                    time.sleep(0.5)
            finally:
                if spy.poll() is None:
                    spy.send_signal(signal.SIGINT)
                    try:
                        spy.wait(60)
                    except subprocess.TimeoutExpired:
                        spy.kill()
                palier.stop()
        summary_text = "\n\n".join([
            render(summarize(collapsed, threads=("MainThread",)),
                   "event loop thread (intake, pipeline, rules, API)"),
            render(summarize(collapsed, threads=("asyncio_",)),
                   "worker threads (asyncio.to_thread: database commits)"),
            render(summarize(collapsed), "all threads"),
        ])
        (out / "ingest.txt").write_text(summary_text + "\n")
        render_svg(collapsed, out / "ingest.svg",
                   title=f"palier run draining {count} messages "
                         f"({sizes.devices} devices, {sizes.rules} rules)")
        return out
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the quick mode's sizes")
    parser.add_argument("--rate", type=int, default=250, help="samples a second")
    parser.add_argument("--messages", type=int, default=None,
                        help="backlog size (default: the mode's, 200,000 in full)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "profile")
    parser.add_argument("--idle", action="store_true",
                        help="sample waiting threads too: where the commits wait (disk, locks)")
    args = parser.parse_args(argv)
    out = profile(args.out, quick=args.quick, rate=args.rate, messages=args.messages,
                  idle=args.idle)
    print((out / "ingest.txt").read_text())
    print(f"flame graph: {out / 'ingest.svg'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
