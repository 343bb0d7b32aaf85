"""A private VictoriaMetrics for tests: a real server for the InfluxDB v2 write API.

Debian's ``victoria-metrics`` package (``./dev test`` installs it) accepts
``POST /api/v2/write`` in line protocol and gives every sample back, duplicates
included, through ``/api/v1/export``. That makes it a witness of "exactly once":
a point written twice shows as two samples with the same timestamp.

It maps the line ``measurement,tag=v field=1 ts`` to the metric
``measurement_field{tag="v"}``, and keeps millisecond timestamps.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import free_port

BINARY = "victoria-metrics"


def binary() -> str | None:
    """Where the server is, or None when the package is not installed."""
    return shutil.which(BINARY) or next(
        (p for p in (f"/usr/bin/{BINARY}", f"/usr/sbin/{BINARY}") if Path(p).exists()), None)


@dataclass(frozen=True, slots=True)
class Series:
    """One exported series: its metric name, its labels (without ``__name__``), samples."""

    name: str
    labels: dict[str, str]
    values: list[float]
    timestamps: list[int]  # milliseconds


class VictoriaMetrics:
    """One server on a free loopback port with its own data directory.

    :meth:`stop` and :meth:`start` keep the port and the data, so a test can take
    the server away and bring the same one back.
    """

    def __init__(self, workdir: Path, *extra_args: str) -> None:
        self.workdir = workdir
        self.data = workdir / "data"
        self.log_path = workdir / "victoria-metrics.log"
        self.port = free_port()
        self.extra_args = extra_args
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        path = binary()
        if path is None:
            raise RuntimeError(f"{BINARY} is not installed: run ./dev test, which installs it")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [path, f"-httpListenAddr=127.0.0.1:{self.port}",
                 f"-storageDataPath={self.data}", "-loggerLevel=ERROR", *self.extra_args],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{BINARY} exited with {self.proc.returncode}: "
                                   f"{self.log_path.read_text()[-2000:]}")
            try:
                if self._get("/health", 1.0) == b"OK":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"{BINARY} on port {self.port} not healthy after {timeout}s")

    def stop(self) -> None:
        """Stop gracefully (it writes its in-memory data to disk first)."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def export(self, match: str = '{__name__=~".+"}') -> list[Series]:
        """Every sample of the series ``match`` selects, after a flush to make them visible."""
        self._get("/internal/force_flush")
        query = urllib.parse.urlencode({"match[]": match})
        series = []
        for line in self._get(f"/api/v1/export?{query}").decode().splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            labels = dict(item["metric"])
            name = labels.pop("__name__")
            series.append(Series(name, labels, item["values"], item["timestamps"]))
        return series

    def write(self, lines: str) -> int:
        """Post line protocol directly, bypassing the sink; the HTTP status."""
        request = urllib.request.Request(
            f"{self.url}/api/v2/write?org=test&bucket=test&precision=ns",
            data=lines.encode(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def _get(self, path: str, timeout: float = 10.0) -> bytes:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=timeout) as response:
            return response.read()
