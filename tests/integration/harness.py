"""Runs a real gateway in a background thread, and talks to it as users and devices do."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt

from gateway.app import Gateway, Running
from gateway.broker_url import BrokerUrl
from gateway.settings import Settings

INSTALLATION = Path(__file__).parent / "installation"


class GatewayThread:
    def __init__(self, settings: Settings) -> None:
        self.gateway = Gateway(settings)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._main, name="gateway", daemon=True)
        self.error: BaseException | None = None

    def _main(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self.gateway.run())
        except BaseException as exc:  # reported to the test, which fails on it
            self.error = exc
        finally:
            self._loop.close()

    def start(self, timeout: float = 30.0) -> Running:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while self.gateway.running is None or not self.gateway.running.intake.connected.is_set():
            if self.error is not None:
                raise RuntimeError("the gateway failed to start") from self.error
            if time.monotonic() > deadline:
                raise TimeoutError("the gateway did not start")
            time.sleep(0.02)
        return self.gateway.running

    def stop(self) -> None:
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self.gateway.stop)
        self._thread.join(30)
        if self.error is not None:
            raise RuntimeError("the gateway failed") from self.error


def settings_for(broker_url: str, database_url: str, var_dir: Path, client_id: str,
                 config_dir: Path = INSTALLATION, port: int = 0) -> Settings:
    return Settings(
        config_dir=config_dir,
        broker=BrokerUrl.parse(broker_url),
        database_url=database_url,
        listen=("127.0.0.1", port),
        var_dir=var_dir,
        client_id=client_id,
    )


def publish(port: int, messages: list[tuple[str, str | bytes]], *, retain: bool = False,
            mqtt5: bool = True) -> None:
    """Publish at QoS 1 with paho, as device firmware does, and wait for every PUBACK."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                         protocol=mqtt.MQTTv5 if mqtt5 else mqtt.MQTTv311)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        infos = [client.publish(topic, body, qos=1, retain=retain) for topic, body in messages]
        for info in infos:
            info.wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


class ApiUser:
    def __init__(self, api_url: str, username: str, password: str = "test-pass") -> None:
        self.http = httpx.Client(base_url=api_url, timeout=10)
        reply = self.http.post("/api/auth/token", data={"username": username, "password": password})
        reply.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {reply.json()['access_token']}"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApiUser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, path: str, **params: Any) -> Any:
        reply = self.http.get(path, params=params)
        reply.raise_for_status()
        return reply.json()

    def feed(self) -> list[dict[str, Any]]:
        return self.get("/api/feed")["items"]


def eventually(check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.1) -> Any:
    """The first truthy result of ``check``, or the last failure when time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {check}")
        time.sleep(interval)
