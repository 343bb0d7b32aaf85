"""A broker for installations that have none: Mosquitto from PATH, else amqtt in-process.

Mosquitto is preferred: MQTT 5, persistent sessions on disk, and it is what
production sites run. amqtt (pure Python, MQTT 3.1.1) keeps the demo working on
a machine without Mosquitto; gmqtt then falls back to 3.1.1, where PUBACK is
sent on receipt rather than after storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import subprocess
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import TracebackType

from gateway.broker_url import BrokerUrl

log = logging.getLogger(__name__)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def pick_port(preferred: int = 1883) -> int:
    """``preferred`` if it is free (1883 for the demo), else any free port; 0 means any."""
    if preferred and port_is_free(preferred):
        return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_for_port(port: int, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if loop.time() > deadline:
                raise TimeoutError(f"the embedded broker did not listen on {port}") from None
            await asyncio.sleep(0.05)


class EmbeddedBroker(AbstractAsyncContextManager["EmbeddedBroker"]):
    """Starts on enter, stops on exit; ``url`` tells the gateway where it listens."""

    def __init__(self, var_dir: Path, preferred_port: int = 1883,
                 *, kind: str = "auto") -> None:
        self.var_dir = var_dir
        self.port = pick_port(preferred_port)
        self.url = BrokerUrl("127.0.0.1", self.port)
        self.kind = ""
        self._wanted = kind
        self._proc: subprocess.Popen[bytes] | None = None
        self._amqtt: object | None = None

    async def __aenter__(self) -> EmbeddedBroker:
        binary = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
        if self._wanted == "mosquitto" and not binary:
            raise OSError("the embedded broker should be Mosquitto, but no mosquitto is on PATH")
        if binary and self._wanted != "amqtt":
            await self._start_mosquitto(binary)
        else:
            await self._start_amqtt()
        log.info("embedded %s broker on %s", self.kind, self.url)
        return self

    async def _start_mosquitto(self, binary: str) -> None:
        data = self.var_dir / "mosquitto"
        data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # Started as root, Mosquitto drops to its own user: let that user keep its
            # persistence file here, or persistent sessions would not survive a restart.
            with contextlib.suppress(LookupError, OSError):
                shutil.chown(data, user="mosquitto")
        conf = data / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {data}/\n"
            "autosave_interval 30\n"
            # Mosquitto's default of 20 halves QoS 1 throughput for a fast client.
            "max_inflight_messages 1000\n"
            "max_queued_messages 100000\n"
            "log_dest none\n"
        )
        self._proc = subprocess.Popen([binary, "-c", str(conf)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.kind = "mosquitto"
        await wait_for_port(self.port)

    async def _start_amqtt(self) -> None:
        from amqtt.broker import Broker

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        broker = Broker(config)
        await broker.start()
        self._amqtt = broker
        self.kind = "amqtt"

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                await asyncio.to_thread(self._proc.wait, 5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        if self._amqtt is not None:
            await self._amqtt.shutdown()  # type: ignore[attr-defined]
