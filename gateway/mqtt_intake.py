"""MQTT intake on gmqtt: QoS 1, a persistent session, acknowledgement after storage.

gmqtt is asyncio-native and speaks MQTT 5; with ``optimistic_acknowledgement``
off it sends PUBACK only when ``on_message`` returns, which is what makes
"acknowledged once stored" possible. Reconnection is ours (jittered backoff, a
fresh client per attempt); gmqtt's own fixed-delay reconnect is disabled.

The fast path (``run(..., offer=...)``): gmqtt would await a task per message and
write each PUBACK on its own. Instead each QoS 1 message is handed to ``offer``
as it is parsed, with an acknowledger for its connection; once the processor has
stored the batch, the acknowledger writes all its PUBACKs, in order, at once. A
PUBACK for a connection that has since closed is dropped: the broker sends those
messages again to the next session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import struct
import time
from collections.abc import Callable, Sequence

from gmqtt import Client, Subscription
from gmqtt.mqtt.constants import MQTTv50, MQTTv311, SubAckReasonCode

from firmware_bridge.records import OutgoingMessage, RawMessage
from gateway.backoff import Backoff
from gateway.broker_url import BrokerUrl
from gateway.intake import MessageHandler

log = logging.getLogger(__name__)

#: How long the broker keeps our session (and queues QoS 1 messages) while we are away.
SESSION_EXPIRY_SECONDS = 7 * 24 * 3600
#: Topic filters per SUBSCRIBE packet.
SUBSCRIBE_BATCH = 500
#: PUBACK with a success reason: the same 4 bytes in MQTT 3.1.1 and 5 (MQTT 5 §3.4.2.1).
_PUBACK = struct.Struct("!BBH").pack
_PUBACK_TYPE = 0x40

#: Takes one message and what acknowledges it; False when it cannot be taken (shutdown).
Offer = Callable[[RawMessage, "Callable[[list[int]], None]"], bool]


class Acknowledger:
    """Sends the PUBACKs of one connection's messages, a batch in one write."""

    __slots__ = ("_connection", "sent")

    def __init__(self, connection: object) -> None:
        self._connection = connection
        self.sent = 0

    def __call__(self, mids: list[int]) -> None:
        connection = self._connection
        if connection is None or connection.is_closing():  # type: ignore[attr-defined]
            log.debug("%d acknowledgements dropped: their connection is closed", len(mids))
            return
        connection.send_package(b"".join([_PUBACK(_PUBACK_TYPE, 2, mid)  # type: ignore[attr-defined]
                                          for mid in mids]))
        self.sent += len(mids)


class GmqttIntake:
    def __init__(
        self,
        url: BrokerUrl,
        client_id: str,
        topic_filters: Sequence[str],
        *,
        ca_file: str | None = None,
        keepalive: int = 30,
        receive_maximum: int = 1000,
        backoff: Backoff | None = None,
        mqtt5: bool = True,
    ) -> None:
        self.url = url
        self.client_id = client_id
        self.topic_filters = tuple(dict.fromkeys(topic_filters))
        self._ca_file = ca_file
        self._keepalive = keepalive
        self._receive_maximum = receive_maximum
        self._backoff = backoff or Backoff()
        self._stop = asyncio.Event()
        self._connected = asyncio.Event()
        self._subscribed = asyncio.Event()
        self._client: Client | None = None
        self._version = MQTTv50 if mqtt5 else MQTTv311
        self.connections = 0
        self.connect_timeout = 5.0

    @property
    def connected(self) -> asyncio.Event:
        return self._connected

    @property
    def subscribed(self) -> asyncio.Event:
        """Set once the broker acknowledged every subscription of this connection."""
        return self._subscribed

    def _ssl_context(self) -> ssl.SSLContext | bool:
        if not self.url.tls:
            return False
        return ssl.create_default_context(cafile=self._ca_file)

    def _make_client(self, handler: MessageHandler, lost: asyncio.Event,
                     offer: Offer | None = None) -> Client:
        client = Client(
            self.client_id,
            clean_session=False,
            optimistic_acknowledgement=False,
            session_expiry_interval=SESSION_EXPIRY_SECONDS,
            receive_maximum=self._receive_maximum,
        )
        client.set_config({"reconnect_retries": 0, "reconnect_delay": 3600})
        if offer is None:
            _pass_packet_ids(client)
        else:
            _offer_directly(client, offer)
        if self.url.username:
            client.set_auth_credentials(self.url.username, self.url.password)

        async def on_message(_c: Client, topic: str, payload: bytes, qos: int, props: dict) -> int:
            await handler(RawMessage(topic, payload, qos, bool(props.get("retain")), time.time(),
                                     dup=bool(props.get("dup")), mid=props.get("mid")))
            return 0

        pending: set[int] = set()

        def on_connect(_c: Client, _flags: int, _rc: int, _props: dict) -> None:
            # MQTT 5 only: keep the retain flag, so a cleared retained message is recognised.
            # Many filters per SUBSCRIBE: a partitioned worker names thousands of devices.
            v5 = self._version == MQTTv50
            filters = list(self.topic_filters)
            for start in range(0, len(filters), SUBSCRIBE_BATCH):
                batch = [Subscription(topic, qos=1, retain_as_published=v5)
                         for topic in filters[start:start + SUBSCRIBE_BATCH]]
                pending.add(client.subscribe(batch))

        def on_subscribe(_c: Client, mid: int, granted: Sequence[int], _props: dict) -> None:
            refused = [g for g in granted if g >= SubAckReasonCode.UNSPECIFIED_ERROR.value]
            if refused:
                log.error("broker refused a subscription of %s: reason codes %s",
                          self.client_id, refused)
            pending.discard(mid)
            if not pending and not self._subscribed.is_set():
                self._subscribed.set()
                log.info("%s: the broker confirmed %d topic filters", self.client_id,
                         len(self.topic_filters))

        def on_disconnect(_c: Client, _packet: object, exc: BaseException | None = None) -> None:
            # gmqtt has just scheduled its own fixed-delay reconnect; it checks this flag
            # when it runs, so clearing it here leaves reconnection to our backoff loop.
            client._is_active = False
            lost.set()

        client.on_message = on_message
        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_disconnect = on_disconnect
        return client

    async def run(self, handler: MessageHandler, offer: Offer | None = None) -> None:
        """Deliver messages until stopped: QoS 1 ones through ``offer`` when given (acked in
        batches), the others (and all of them without ``offer``) by awaiting ``handler``."""
        while not self._stop.is_set():
            lost = asyncio.Event()
            client = self._make_client(handler, lost, offer)
            self._client = client
            try:
                try:
                    await asyncio.wait_for(
                        client.connect(self.url.host, self.url.port, ssl=self._ssl_context(),
                                       keepalive=self._keepalive, version=self._version),
                        self.connect_timeout,
                    )
                except TimeoutError:
                    if self._version == MQTTv50:
                        # Some brokers (amqtt) drop an MQTT 5 CONNECT without a CONNACK.
                        log.warning("%s did not answer an MQTT 5 CONNECT; using MQTT 3.1.1, "
                                    "where messages are acknowledged on receipt", self.url)
                        self._version = MQTTv311
                    raise
                _set_nodelay(client)
                self.connections += 1
                self._connected.set()
                self._backoff.reset()
                log.info("connected to %s as %s, subscribed to %s", self.url, self.client_id,
                         ", ".join(self.topic_filters))
                await _first(lost.wait(), self._stop.wait())
                if not self._stop.is_set():
                    log.warning("lost the connection to %s; reconnecting", self.url)
            except Exception as exc:  # gmqtt raises OSError and its own MQTTConnectError
                log.warning("cannot connect to %s: %s", self.url, exc)
            finally:
                self._connected.clear()
                self._subscribed.clear()
                with contextlib.suppress(Exception):
                    await client.disconnect()
            if not self._stop.is_set():
                delay = self._backoff.next_delay()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)

    async def stop(self) -> None:
        self._stop.set()

    async def set_filters(self, filters: Sequence[str]) -> None:
        """Follow a reload: subscribe to new topic filters, drop the ones no bridge needs."""
        new = tuple(dict.fromkeys(filters))
        added = [f for f in new if f not in self.topic_filters]
        removed = [f for f in self.topic_filters if f not in new]
        self.topic_filters = new
        client = self._client
        if client is None or not self._connected.is_set():
            return  # the next connection subscribes to the new set
        v5 = self._version == MQTTv50
        for topic in added:
            client.subscribe(topic, qos=1, retain_as_published=v5)
        if removed:
            client.unsubscribe(removed)

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish commands at their QoS; gmqtt keeps QoS 1 messages until acknowledged."""
        client = self._client
        if client is None or not self._connected.is_set():
            raise ConnectionError(f"not connected to {self.url}; the command was not sent")
        for message in messages:
            client.publish(message.topic, message.payload, qos=message.qos,
                           retain=message.retain)


def _pass_packet_ids(client: Client) -> None:
    """Hand the packet id of a QoS 1 message to ``on_message`` (in its properties, beside
    ``dup``), so a redelivery can be recognised (gateway.redelivery). gmqtt reads it from
    the packet but keeps it to itself."""
    handler = client._package_handler
    original = handler._handle_qos_1_publish_packet

    def with_mid(mid: int, packet: bytes, print_topic: str, properties: dict) -> None:
        properties["mid"] = mid
        original(mid, packet, print_topic, properties)

    handler._handle_qos_1_publish_packet = with_mid


def _offer_directly(client: Client, offer: Offer) -> None:
    """QoS 1 messages go to ``offer`` as they are read: no task, no future, and no PUBACK
    from gmqtt — the acknowledger sends them once the batch is stored.

    A QoS 1 PUBLISH without MQTT 5 properties (what a broker sends a subscriber that
    asked for no topic aliases) is read here in a few slices; anything else takes
    gmqtt's own path, which ends in ``taken`` for QoS 1 too.
    """
    handler = client._package_handler
    state = handler._connection_state
    gmqtt_path = handler._handle_packet
    current: list[Acknowledger] = []
    now = time.time

    def acknowledger() -> Acknowledger:
        connection = client._connection
        if not current or current[0]._connection is not connection:
            current[:] = [Acknowledger(connection)]
        return current[0]

    def taken(mid: int, packet: bytes, print_topic: str, properties: dict) -> None:
        offer(RawMessage(print_topic, packet, 1, bool(properties["retain"]), now(),
                         bool(properties["dup"]), mid), acknowledger())

    def packet_read(cmd: int, packet: bytes) -> None:
        if cmd & 0xF6 == 0x32:  # PUBLISH at QoS 1 (MQTT §3.3.1): DUP and RETAIN bits aside
            end = 2 + ((packet[0] << 8) | packet[1])
            start = end + 2
            if state.protocol_version >= MQTTv50:
                if packet[start]:  # a property length: topic alias, user properties...
                    gmqtt_path(cmd, packet)
                    return
                start += 1
            try:
                topic = packet[2:end].decode()
            except UnicodeDecodeError:
                topic = ""
            if topic:
                offer(RawMessage(topic, packet[start:], 1, bool(cmd & 0x01), now(),
                                 bool(cmd & 0x08), (packet[end] << 8) | packet[end + 1]),
                      acknowledger())
                return
        gmqtt_path(cmd, packet)

    handler._handle_qos_1_publish_packet = taken
    handler._handle_packet = packet_read


async def _first(*aws: object) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]  # type: ignore[arg-type]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()


def _set_nodelay(client: Client) -> None:
    """Nagle off: acknowledgements are tiny and must leave at once (asyncio does too; be sure)."""
    transport = getattr(getattr(client, "_connection", None), "_transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def socket_of(intake: GmqttIntake) -> socket.socket | None:
    """The live client socket, for tests that check its options."""
    client = intake._client
    transport = getattr(getattr(client, "_connection", None), "_transport", None)
    return transport.get_extra_info("socket") if transport is not None else None
