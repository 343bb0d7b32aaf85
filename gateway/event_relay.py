"""Live events between Palier processes, over the MQTT broker they already share.

Each process's :class:`~social.events.EventHub` announces what its own database
sessions committed. With several gateway workers or API replicas on one database,
a resident's stream is served by one process while the alarm was raised by
another, so every process forwards the events its hub originated to
``<prefix>/<node>`` and publishes into its hub what the others forward. An event
carries its audience, so the receiving stream applies the visibility rule exactly
as for a local one; nothing here decides who may see what.

Delivery is QoS 1 while connected, on a clean session: events are live
notifications, and a stream that missed some (a relay down, a restart) resyncs
from the database the way a client with a stale ``Last-Event-ID`` does.
paho-mqtt runs its network loop in its own thread and reconnects by itself;
:meth:`EventHub.publish` is thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl

import paho.mqtt.client as mqtt

from gateway.broker_url import BrokerUrl
from social.events import Envelope, Event, EventHub

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "palier/events"


class EventRelay:
    """Forwards ``hub``'s own events to the broker and the other nodes' events to ``hub``."""

    def __init__(self, hub: EventHub, url: BrokerUrl, *, prefix: str = DEFAULT_PREFIX,
                 ca_file: str | None = None) -> None:
        self.hub = hub
        self.url = url
        self.prefix = prefix.rstrip("/")
        self.sent = 0
        self.received = 0
        self.rejected = 0
        self.connected = False
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                   client_id=f"palier-events-{hub.node}",
                                   protocol=mqtt.MQTTv311, clean_session=True)
        if url.username:
            self._client.username_pw_set(url.username, url.password)
        if url.tls:
            self._client.tls_set_context(ssl.create_default_context(cafile=ca_file))
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    @property
    def own_topic(self) -> str:
        return f"{self.prefix}/{self.hub.node}"

    def _on_connect(self, client: mqtt.Client, _userdata: object, _flags: object,
                    reason: mqtt.ReasonCode, _props: object = None) -> None:
        if reason.is_failure:
            log.warning("event relay: %s refused the connection: %s", self.url, reason)
            return
        self.connected = True
        client.subscribe(f"{self.prefix}/+", qos=1)
        log.info("event relay: exchanging live events on %s/+ as %s", self.prefix, self.hub.node)

    def _on_disconnect(self, _client: mqtt.Client, _userdata: object, _flags: object,
                       reason: mqtt.ReasonCode, _props: object = None) -> None:
        if self.connected:
            log.warning("event relay: lost %s (%s); reconnecting", self.url, reason)
        self.connected = False

    def _on_message(self, _client: mqtt.Client, _userdata: object,
                    message: mqtt.MQTTMessage) -> None:
        if message.topic == self.own_topic:
            return
        try:
            event = Event.from_json(message.payload)
        except ValueError as exc:
            self.rejected += 1
            log.warning("event relay: ignored a message on %s: %s", message.topic, exc)
            return
        if event.origin == self.hub.node:
            return
        self.received += 1
        self.hub.publish(event)

    def forward(self, envelope: Envelope) -> None:
        """Send one of this node's events to the others (not events it received)."""
        if envelope.event.origin != self.hub.node:
            return
        self._client.publish(self.own_topic, envelope.event.to_json(), qos=1)
        self.sent += 1

    async def run(self) -> None:
        """Connect, then forward this hub's events until cancelled or the hub closes."""
        self._client.connect_async(self.url.host, self.url.port, keepalive=30)
        self._client.loop_start()
        try:
            async with self.hub.subscribe() as subscription:
                while True:
                    item = await subscription.get()
                    if item is None:
                        return
                    if isinstance(item, Envelope):
                        self.forward(item)
                    else:
                        log.warning("event relay: fell behind and skipped some events; "
                                    "remote streams will resynchronise")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self._client.disconnect)
            self._client.loop_stop()
