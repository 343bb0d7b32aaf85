"""Child processes and loopback ports: started on 127.0.0.1, bounded in time, always stopped."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench import BenchError

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    """A TCP port nothing listens on right now, on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0, proc: subprocess.Popen[Any] | None = None
                  ) -> None:
    """Return once 127.0.0.1:``port`` accepts a connection; fail early if ``proc`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"{_name(proc)} exited with {proc.returncode} before listening "
                             f"on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise BenchError(f"nothing listens on 127.0.0.1:{port} after {timeout:g} s")


def _name(proc: subprocess.Popen[Any]) -> str:
    args = proc.args if isinstance(proc.args, list | tuple) else [proc.args]
    return " ".join(str(a) for a in args[:4])


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child: the repository importable, output unbuffered."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def start(args: Sequence[str], *, cwd: Path | None = None, log: Path | None = None,
          env: Mapping[str, str] | None = None, stdout_pipe: bool = False
          ) -> subprocess.Popen[bytes]:
    """Start a child in its own process group; stderr (and stdout) go to ``log``."""
    sink: Any = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.Popen(
            list(args), cwd=cwd, env=child_env(env), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else sink, stderr=sink,
            start_new_session=True,
        )
    finally:
        if log is not None:
            sink.close()


def stop(proc: subprocess.Popen[Any] | None, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; only this process and its group."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@contextlib.contextmanager
def running(args: Sequence[str], **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A child for the duration of a ``with`` block, stopped whatever happens inside it."""
    proc = start(args, **kwargs)
    try:
        yield proc
    finally:
        stop(proc)


def run_json(args: Sequence[str], *, timeout: float, log: Path | None = None,
             env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run a bench helper to completion and parse the JSON object it prints last on stdout."""
    proc = start(args, log=log, env=env, stdout_pipe=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc, grace=2)
        raise BenchError(f"{' '.join(args[:4])} did not finish within {timeout:g} s"
                         + (f" (log: {log})" if log else "")) from None
    finally:
        stop(proc)
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(args[:4])} exited with {proc.returncode}"
                         + (f" (log: {log})" if log else ""))
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    if not lines:
        raise BenchError(f"{' '.join(args[:4])} printed no result")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def module(name: str, *args: object) -> list[str]:
    """The argument list that runs ``python -m name args...`` with this interpreter."""
    return [PYTHON, "-m", name, *(str(a) for a in args)]
