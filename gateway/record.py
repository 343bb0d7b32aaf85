"""``palier record``: capture an installation's live MQTT traffic, to test rules on it later.

A recording is JSON Lines, one message a line, in the order the broker delivered them::

    {"t": 1795604527.081, "topic": "zigbee2mqtt/leak_cave_b", "payload": "{\\"water_leak\\":true}",
     "qos": 1, "retain": false}

``t`` is the receive time (epoch seconds), the very clock the gateway stamps a
message with, so ``palier replay`` can put every message back at its moment. A
payload that is not UTF-8 (raw binary frames, a firmware's encoding bug) is kept
exactly as ``{"base64": "..."}``: a recording must reproduce the bytes that broke
a decoder, not a cleaned-up copy. Lines are flushed as they are written, so a
recording cut short by a crash or a full disk is still readable up to its end.

The recorder is a passive observer beside the gateway: a clean session under its
own random client id (``palier-record-<hex>``), so it never takes over the
gateway's persistent session nor leaves a queue behind at the broker.

Exception tree::

    RecordingError          a recording cannot be made or read
     ├── CaptureError       the broker cannot be reached or refuses us
     └── BadLine            one line of a recording is unusable; ``line`` and ``reason``
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import math
import secrets
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from firmware_bridge.records import RawMessage
from gateway.broker_url import BrokerUrl

log = logging.getLogger(__name__)

#: Where ``palier record`` connects when neither ``--broker`` nor PALIER_BROKER_URL says.
DEFAULT_BROKER = "mqtt://127.0.0.1:1883"


class RecordingError(Exception):
    """Root of the errors of recording and reading recordings."""


class CaptureError(RecordingError):
    """The broker cannot be reached, refuses the connection or the subscriptions."""


class BadLine(RecordingError):
    """A line of a recording that cannot be replayed; the others still can."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RecordedMessage:
    """One message of a recording: what the broker delivered, and when."""

    t: float
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False

    def to_line(self) -> str:
        """The JSON line for this message (no newline); text payloads stay readable."""
        try:
            payload: str | dict[str, str] = self.payload.decode("utf-8")
        except UnicodeDecodeError:
            payload = {"base64": base64.b64encode(self.payload).decode("ascii")}
        record = {"t": round(self.t, 6), "topic": self.topic, "payload": payload,
                  "qos": self.qos, "retain": self.retain}
        return json.dumps(record, ensure_ascii=False, separators=(", ", ": "))

    @classmethod
    def from_line(cls, text: str, line: int) -> RecordedMessage:
        """Parse one line; raises :class:`BadLine` saying what is wrong with it."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadLine(line, f"not JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(data, dict):
            raise BadLine(line, f"expected a JSON object, got {type(data).__name__}")
        t = data.get("t")
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
            raise BadLine(line, f"t: expected epoch seconds (a number), got {_show(t)}")
        topic = data.get("topic")
        if not isinstance(topic, str) or not topic:
            raise BadLine(line, f"topic: expected a non-empty string, got {_show(topic)}")
        payload = _payload(data.get("payload", _MISSING), line)
        qos = data.get("qos", 0)
        if isinstance(qos, bool) or qos not in (0, 1, 2):
            raise BadLine(line, f"qos: expected 0, 1 or 2, got {_show(qos)}")
        retain = data.get("retain", False)
        if not isinstance(retain, bool):
            raise BadLine(line, f"retain: expected true or false, got {_show(retain)}")
        return cls(float(t), topic, payload, qos, retain)

    def raw(self) -> RawMessage:
        """The message as the intake would have handed it to the pipeline."""
        return RawMessage(self.topic, self.payload, self.qos, self.retain, self.t)


_MISSING = object()


def _payload(value: Any, line: int) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and set(value) == {"base64"} and isinstance(value["base64"], str):
        try:
            return base64.b64decode(value["base64"], validate=True)
        except (binascii.Error, ValueError):
            raise BadLine(line, "payload: base64 is not valid") from None
    if value is _MISSING:
        raise BadLine(line, "payload: missing")
    raise BadLine(line, f'payload: expected a string or {{"base64": ...}}, got {_show(value)}')


def _show(value: object) -> str:
    if value is None:
        return "nothing"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


# ── capture ──────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class RecordSummary:
    messages: int
    topics: int
    seconds: float

    def __str__(self) -> str:
        plural = "" if self.messages == 1 else "s"
        topics = "" if self.topics == 1 else "s"
        return (f"recorded {self.messages} message{plural} on {self.topics} topic{topics} "
                f"in {self.seconds:.1f} s")


def record_client_id() -> str:
    """A client id of its own: sharing the gateway's would disconnect the gateway."""
    return f"palier-record-{secrets.token_hex(4)}"


class Recorder:
    """Subscribes to ``filters`` and writes every message to ``out`` until told to stop.

    Stops on :meth:`stop`, after ``count`` messages or after ``duration`` seconds,
    whichever comes first. ``clock`` stamps the messages (the gateway's clock is
    ``time.time`` too).
    """

    CONNECT_TIMEOUT = 5.0

    def __init__(
        self,
        url: BrokerUrl,
        filters: Sequence[str],
        out: TextIO,
        *,
        client_id: str | None = None,
        count: int | None = None,
        duration: float | None = None,
        clock: Callable[[], float] = time.time,
        ca_file: str | None = None,
    ) -> None:
        if not filters:
            raise CaptureError("the installation has no bridge to subscribe to")
        self.url = url
        self.filters = tuple(dict.fromkeys(filters))
        self.client_id = client_id or record_client_id()
        self._out = out
        self._count = count
        self._duration = duration
        self._clock = clock
        self._ca_file = ca_file
        self._stop = asyncio.Event()
        self.subscribed = asyncio.Event()
        self.messages = 0
        self.topics: set[str] = set()

    def stop(self) -> None:
        """Stop after the message being written, if any (safe from a signal handler)."""
        self._stop.set()

    async def run(self, on_subscribed: Callable[[], None] | None = None) -> RecordSummary:
        """Record until stopped; ``on_subscribed`` runs once the broker granted the filters."""
        from gmqtt import Client, Subscription
        from gmqtt.mqtt.constants import MQTTv50, MQTTv311

        started = time.monotonic()
        pending_subs: set[int] = set()
        version = MQTTv50

        def on_connect(client: Client, _flags: int, _rc: int, _props: dict[str, Any]) -> None:
            # One SUBSCRIBE for every filter, so one SUBACK says we are recording.
            # MQTT 5 "retain as published": a live retained message keeps its flag.
            wanted = [Subscription(topic, qos=1, retain_as_published=version == MQTTv50)
                      for topic in self.filters]
            pending_subs.clear()
            pending_subs.add(client.subscribe(wanted))

        def on_subscribe(_c: Client, mid: int, granted: Sequence[int], _props: Any) -> None:
            if any(g >= 0x80 for g in granted):
                log.error("the broker refused a subscription (reason codes %s)", list(granted))
            pending_subs.discard(mid)
            if not pending_subs and not self.subscribed.is_set():
                self.subscribed.set()
                if on_subscribed is not None:
                    on_subscribed()

        async def on_message(_c: Client, topic: str | bytes, payload: bytes, qos: int,
                             props: dict[str, Any]) -> int:
            if self._stop.is_set():
                return 0
            if isinstance(topic, bytes):  # gmqtt hands over a topic that is not UTF-8 as bytes
                topic = topic.decode("utf-8", errors="replace")
            message = RecordedMessage(self._clock(), topic, bytes(payload or b""), qos,
                                      bool(props.get("retain")))
            self._out.write(message.to_line() + "\n")
            self._out.flush()
            self.messages += 1
            self.topics.add(topic)
            if self._count is not None and self.messages >= self._count:
                self._stop.set()
            return 0

        def on_disconnect(_c: Client, _packet: object, exc: BaseException | None = None) -> None:
            if not self._stop.is_set():
                log.warning("lost the connection to %s; gmqtt reconnects", self.url)

        def make_client() -> Client:
            # A fresh client per attempt: gmqtt leaves one unusable after a failed connect.
            client = Client(self.client_id, clean_session=True)
            if self.url.username:
                client.set_auth_credentials(self.url.username, self.url.password)
            client.on_connect = on_connect
            client.on_subscribe = on_subscribe
            client.on_message = on_message
            client.on_disconnect = on_disconnect
            return client

        client = make_client()
        ssl: Any = False
        if self.url.tls:
            import ssl as ssl_module

            ssl = ssl_module.create_default_context(cafile=self._ca_file)
        try:
            try:
                await asyncio.wait_for(
                    client.connect(self.url.host, self.url.port, ssl=ssl, version=MQTTv50),
                    self.CONNECT_TIMEOUT)
            except TimeoutError:
                # Some brokers (amqtt) drop an MQTT 5 CONNECT without answering.
                version = MQTTv311
                client = make_client()
                await asyncio.wait_for(
                    client.connect(self.url.host, self.url.port, ssl=ssl, version=MQTTv311),
                    self.CONNECT_TIMEOUT)
        except TimeoutError:
            raise CaptureError(f"the MQTT broker at {self.url} did not answer") from None
        except Exception as exc:  # gmqtt raises OSError and its own MQTTConnectError
            raise CaptureError(f"cannot connect to the MQTT broker at {self.url}: {exc}") from exc
        try:
            if self._duration is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self._duration)
            else:
                await self._stop.wait()
        finally:
            self._stop.set()
            with contextlib.suppress(Exception):
                await client.disconnect()
        return RecordSummary(self.messages, len(self.topics), time.monotonic() - started)


# ── the command ──────────────────────────────────────────────────────────────────────


def run_record(
    config: Path,
    out: str,
    broker: str | None,
    *,
    duration: float | None = None,
    count: int | None = None,
) -> int:
    """``palier record``: 0 when stopped as asked, 1 on an invalid config or broker."""
    from gateway.config.errors import ConfigError
    from gateway.config.loader import load_installation
    from gateway.runtime import build_routes

    logging.basicConfig(level=logging.WARNING, format="palier record: %(message)s")
    logging.getLogger("gmqtt").setLevel(logging.ERROR)
    try:
        url = BrokerUrl.parse(broker or DEFAULT_BROKER)
    except ValueError as exc:
        print(f"palier record: {exc}", file=sys.stderr)
        return 2
    try:
        installation = load_installation(config)
    except ConfigError as exc:
        for issue in (*exc.issues, *exc.warnings):
            print(issue, file=sys.stderr)
        print(f"palier record: {config} is not valid; nothing recorded", file=sys.stderr)
        return 1
    filters = build_routes(installation).filters
    to_stdout = out == "-"
    try:
        sink = sys.stdout if to_stdout else open(out, "w", encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        print(f"palier record: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    report = sys.stderr if to_stdout else sys.stdout
    try:
        summary = asyncio.run(_record(url, filters, sink, count, duration))
    except CaptureError as exc:
        print(f"palier record: {exc}", file=sys.stderr)
        return 1
    finally:
        if not to_stdout:
            sink.close()
    print(f"{summary}{'' if to_stdout else f' to {out}'}", file=report)
    return 0


async def _record(url: BrokerUrl, filters: Sequence[str], sink: TextIO, count: int | None,
                  duration: float | None) -> RecordSummary:
    recorder = Recorder(url, filters, sink, count=count, duration=duration)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, recorder.stop)

    def announce() -> None:
        print(f"palier record: recording {', '.join(recorder.filters)} from {url} as "
              f"{recorder.client_id}; Ctrl-C to stop", file=sys.stderr, flush=True)

    try:
        return await recorder.run(on_subscribed=announce)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
