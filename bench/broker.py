"""A private Mosquitto for the benchmarks, on a free loopback port.

Configured as DESIGN.md asks of a production broker (``max_inflight_messages 1000``)
and so that a backlog of a whole ingest run can wait for a persistent session:
``max_queued_messages`` is lifted, and persistence to disk is off (sessions live as
long as the broker, which is all a benchmark needs, and shutdown stays instant).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import TracebackType

from bench import BenchError
from bench.procs import free_port, start, stop, wait_for_port

#: Room for every reading of a run, for each session that waits for them.
MAX_QUEUED = 5_000_000


def mosquitto_binary() -> str:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        raise BenchError("mosquitto is not installed (apt-get install mosquitto)")
    return binary


class Mosquitto:
    """``with Mosquitto(workdir) as broker:`` — started on enter, stopped on exit."""

    def __init__(self, workdir: Path, *, max_inflight: int = 1000) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.max_inflight = max_inflight
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence false\n"
            f"max_inflight_messages {self.max_inflight}\n"
            f"max_queued_messages {MAX_QUEUED}\n"
            "max_queued_bytes 0\n"
            "log_dest stderr\n"
            "log_type error\n"
            "log_type warning\n"
        )
        self.proc = start([mosquitto_binary(), "-c", str(conf)],
                          log=self.workdir / "mosquitto.log")
        wait_for_port(self.port, proc=self.proc)

    def stop(self) -> None:
        stop(self.proc)
        self.proc = None

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
