"""The outbox: webhooks to a real HTTP server on 127.0.0.1 and device commands, sent after
the alarm that asked for them is committed, retried with backoff, outcome recorded."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from devices.records import Device, Point, Value
from firmware_bridge.records import Command, OutgoingMessage
from gateway.commands import CommandSender, NoCommands, PointNotWritable
from gateway.outbox import OutboxDispatcher
from rules.actions import CommandDraft, RaiseAlarm, WebhookDraft
from social.alarms import AlarmBook
from social.db import Database
from social.models import OutboxEntry
from social.places import sync_places
from social.site import SiteFile, expand_site

pytestmark = pytest.mark.integration

SITE = {"city": {"id": "evry", "name": "Évry"}, "neighbourhoods": [{
    "id": "pyramides", "buildings": [{"id": "lilas", "name": "Les Lilas",
                                      "entrances": {"b": {"floors": 2}}}]}]}


# -- a real HTTP receiver -----------------------------------------------------------------


@dataclass
class Receiver:
    """An HTTP server in a thread; ``script`` says how each request is answered, in turn:
    a status code, or ``"sleep"`` (hold the request until the test ends)."""

    script: list[int | str]
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.requests.append({"body": self.rfile.read(length).decode(),
                                          "headers": dict(self.headers), "path": self.path})
                index = len(receiver.requests) - 1
                answer = receiver.script[min(index, len(receiver.script) - 1)]
                if answer == "sleep":
                    receiver.release.wait(10)
                    return
                self.send_response(int(answer))
                self.send_header("Content-Length", "4")
                self.end_headers()
                self.wfile.write(b"nope" if int(answer) >= 400 else b"done")

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(*script: int | str) -> Receiver:
        server = Receiver(list(script))
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# -- the database ------------------------------------------------------------------------


@pytest.fixture(params=["sqlite"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = (f"sqlite:///{tmp_path / 'palier.db'}" if request.param == "sqlite"
           else request.getfixturevalue("fresh_postgres_url"))
    database = Database(url)
    database.migrate()
    with database.session() as session:
        sync_places(session, expand_site(SiteFile.model_validate(SITE)))
        session.commit()
    yield database
    database.dispose()


def raise_with(db: Database, *, webhooks: tuple[WebhookDraft, ...] = (),
               commands: tuple[CommandDraft, ...] = (), device: str = "lift-b") -> int:
    now = datetime.now(UTC)
    alarm = RaiseAlarm(rule_id="lift", device_id=device, place_id="lilas/b",
                       building_id="lilas", severity="major", title={"fr": "Ascenseur"},
                       at=now.timestamp(), notify_managers=False, webhooks=webhooks,
                       commands=commands)
    with db.session() as session:
        [change] = AlarmBook().apply(session, [alarm], now=now)
        session.commit()
    return change.alarm_id


def rows(db: Database) -> list[OutboxEntry]:
    with db.session() as session:
        return list(session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)))


async def no_command(device_id: str, point: str, value: Value) -> None:
    raise AssertionError(f"no command expected, got {device_id} {point} {value}")


def dispatcher(db: Database, **options: Any) -> OutboxDispatcher:
    options.setdefault("send_command", no_command)
    options.setdefault("backoff_base", 0.01)
    options.setdefault("backoff_cap", 0.05)
    return OutboxDispatcher(db, **options)


async def until_finished(outbox: OutboxDispatcher, db: Database, *, within: float) -> int:
    """Dispatch until no row is pending; how many dispatch rounds it took."""
    deadline = time.monotonic() + within
    rounds = 0
    while any(row.status == "pending" for row in rows(db)):
        assert time.monotonic() < deadline, f"still pending after {within} s: {rows(db)}"
        rounds += await outbox.dispatch_once()
        await asyncio.sleep(0.02)
    return rounds


# -- webhooks ----------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_a_webhook_that_fails_twice_is_sent_on_the_third_attempt(
    db: Database, receiver: Callable[..., Receiver]
) -> None:
    server = receiver(500, 503, 200)
    raise_with(db, webhooks=(WebhookDraft(server.url, body='{"lift": "B"}', retries=3),))

    async def scenario() -> None:
        async with dispatcher(db) as outbox:
            await until_finished(outbox, db, within=10)

    asyncio.run(scenario())

    [row] = rows(db)
    assert (row.status, row.attempts, row.http_status, row.last_error) == ("sent", 3, 200, None)
    assert row.finished_at is not None
    assert [r["body"] for r in server.requests] == ['{"lift": "B"}'] * 3
    keys = {r["headers"]["Idempotency-Key"] for r in server.requests}
    assert keys == {f"palier-outbox-{row.id}"}  # one key: the receiver can spot a repeat
    assert server.requests[0]["headers"]["Content-Type"] == "application/json"


@pytest.mark.timeout(30)
def test_a_webhook_past_its_timeout_fails_after_its_retries_with_the_reason(
    db: Database, receiver: Callable[..., Receiver]
) -> None:
    server = receiver("sleep")
    raise_with(db, webhooks=(WebhookDraft(server.url, timeout=0.2, retries=2),))
    started = time.monotonic()

    async def scenario() -> None:
        async with dispatcher(db) as outbox:
            await until_finished(outbox, db, within=10)

    asyncio.run(scenario())

    [row] = rows(db)
    assert (row.status, row.attempts, row.http_status) == ("failed", 3, None)
    assert row.last_error == "timed out after 0.2 s (ReadTimeout)"
    assert len(server.requests) == 3
    assert time.monotonic() - started < 5  # three timeouts, not three sleeps of 10 s


@pytest.mark.timeout(30)
def test_an_http_error_answer_is_recorded_with_its_status(
    db: Database, receiver: Callable[..., Receiver]
) -> None:
    server = receiver(404)
    raise_with(db, webhooks=(WebhookDraft(server.url, retries=0),))

    asyncio.run(dispatcher(db).dispatch_once())

    [row] = rows(db)
    assert (row.status, row.attempts, row.http_status, row.last_error) == (
        "failed", 1, 404, "HTTP 404 Not Found: nope")


@pytest.mark.timeout(30)
def test_a_failure_never_blocks_the_other_rows(
    db: Database, receiver: Callable[..., Receiver]
) -> None:
    good, slow = receiver(200), receiver("sleep")
    dead = "http://127.0.0.1:9/hook"  # the discard port: nothing listens, connection refused
    sent: list[tuple[str, str, Value]] = []

    async def send(device_id: str, point: str, value: Value) -> None:
        sent.append((device_id, point, value))

    raise_with(db, webhooks=(WebhookDraft(dead, retries=5), WebhookDraft(slow.url, timeout=1.0),
                             WebhookDraft(good.url)),
               commands=(CommandDraft("siren-b", "alarm", True),))

    async def scenario() -> int:
        async with dispatcher(db, send_command=send, backoff_base=60) as outbox:
            return await outbox.dispatch_once()

    assert asyncio.run(scenario()) == 4
    by_url = {row.payload.get("url", row.kind): row for row in rows(db)}
    assert by_url[good.url].status == "sent"
    assert by_url["command"].status == "sent"
    assert sent == [("siren-b", "alarm", True)]
    for broken in (dead, slow.url):
        assert (by_url[broken].status, by_url[broken].attempts) == ("pending", 1)
    assert by_url[dead].last_error.startswith("ConnectError")
    assert by_url[slow.url].last_error == "timed out after 1 s (ReadTimeout)"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)
def test_two_dispatchers_never_send_the_same_row(
    db: Database, receiver: Callable[..., Receiver]
) -> None:
    server = receiver(200)
    raise_with(db, webhooks=tuple(WebhookDraft(server.url, body=str(i)) for i in range(5)))

    async def scenario() -> list[int]:
        async with httpx.AsyncClient() as http:
            first, second = dispatcher(db, http=http), dispatcher(db, http=http)
            return list(await asyncio.gather(first.dispatch_once(), second.dispatch_once()))

    claimed = asyncio.run(scenario())

    assert sum(claimed) == 5
    assert sorted(r["body"] for r in server.requests) == ["0", "1", "2", "3", "4"]
    assert {row.status for row in rows(db)} == {"sent"}


@pytest.mark.timeout(30)
def test_run_sends_rows_as_they_come_and_stops_when_cancelled(
    db: Database, receiver: Callable[..., Receiver]
) -> None:
    server = receiver(200)

    async def scenario() -> None:
        async with dispatcher(db, poll_interval=0.05) as outbox:
            task = asyncio.create_task(outbox.run())
            await asyncio.sleep(0.1)
            await asyncio.to_thread(raise_with, db, webhooks=(WebhookDraft(server.url),))
            deadline = time.monotonic() + 5
            while not server.requests or rows(db)[0].status != "sent":
                assert time.monotonic() < deadline, "run() never sent the row"
                await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(scenario())

    assert len(server.requests) == 1 and rows(db)[0].status == "sent"


# -- commands ----------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_a_command_row_calls_send_command_and_retries_a_failure(db: Database) -> None:
    calls: list[tuple[str, str, Value]] = []

    async def flaky(device_id: str, point: str, value: Value) -> None:
        calls.append((device_id, point, value))
        if len(calls) == 1:
            raise ConnectionError("not connected to mqtt://broker; the command was not sent")

    raise_with(db, commands=(CommandDraft("pump-b", "power", False),))

    async def scenario() -> None:
        async with dispatcher(db, send_command=flaky) as outbox:
            await until_finished(outbox, db, within=10)

    asyncio.run(scenario())

    assert calls == [("pump-b", "power", False)] * 2
    [row] = rows(db)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


@pytest.mark.timeout(30)
def test_a_command_that_keeps_failing_is_failed_with_the_last_error(db: Database) -> None:
    async def refused(device_id: str, point: str, value: Value) -> None:
        raise PointNotWritable(f"point {point!r} of {device_id} takes no commands")

    raise_with(db, commands=(CommandDraft("pump-b", "flow", 3),))

    async def scenario() -> None:
        async with dispatcher(db, send_command=refused, command_retries=1) as outbox:
            await until_finished(outbox, db, within=10)

    asyncio.run(scenario())

    [row] = rows(db)
    assert (row.status, row.attempts, row.last_error) == (
        "failed", 2, "PointNotWritable: point 'flow' of pump-b takes no commands")


PUMP = Device(id="pump-b", bridge_id="z2m", source="pump_b", kind="pump", place_id="lilas/b",
              name="Pompe B", bridge_format="zigbee2mqtt", points=(
                  Point("power", "state", "bool", value_map={"ON": True, "OFF": False},
                        writable=True),
                  Point("setpoint", "target", "number", scale=0.5, low=0, high=50,
                        writable=True),
                  Point("flow", "flow", "number")))


def fake_encode(command: Command) -> list[OutgoingMessage]:
    payload = json.dumps({command.path: command.value}).encode()
    return [OutgoingMessage(f"zigbee2mqtt/{command.source}/set", payload)]


def test_the_command_sender_encodes_like_the_api_and_publishes() -> None:
    published: list[OutgoingMessage] = []

    async def publish(messages: Any) -> None:
        published.extend(messages)

    sender = CommandSender({"pump-b": PUMP}.get, {"z2m": fake_encode}.get, publish)

    async def scenario() -> None:
        await sender("pump-b", "power", True)
        await sender("pump-b", "setpoint", 21.5)
        with pytest.raises(LookupError, match="no device 'nope'"):
            await sender("nope", "power", True)
        with pytest.raises(PointNotWritable) as error:
            await sender("pump-b", "flow", 3)
        assert str(error.value) == (
            "point 'flow' of pump-b takes no commands; points that do: power, setpoint")
        with pytest.raises(ValueError, match=r"outside the valid range \[0, 50\]"):
            await sender("pump-b", "setpoint", 80)
        no_encoder = CommandSender({"pump-b": PUMP}.get, lambda _bridge: None, publish)
        with pytest.raises(NoCommands, match="the zigbee2mqtt bridge of pump-b takes no"):
            await no_encoder("pump-b", "power", True)

    asyncio.run(scenario())

    assert [(m.topic, json.loads(m.payload)) for m in published] == [
        ("zigbee2mqtt/pump_b/set", {"state": "ON"}),
        ("zigbee2mqtt/pump_b/set", {"target": 43.0}),
    ]
