"""The intake's fast path on a real broker: QoS 1 messages offered as read, PUBACKs sent in
batches once stored, and nothing acknowledged that was not (the session keeps it)."""

from __future__ import annotations

import asyncio
import uuid

import paho.mqtt.client as paho
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from firmware_bridge.records import RawMessage
from gateway.broker_url import BrokerUrl
from gateway.mqtt_intake import GmqttIntake

pytestmark = pytest.mark.integration


def publish_v5(port: int, messages: list[tuple[str, bytes, bool]], *,
               user_property: bool = False) -> None:
    """Publish at QoS 1 over MQTT 5, optionally with a user property (MQTT 5 properties
    make the broker forward them, which takes gmqtt's own path in the intake)."""
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for topic, payload, retain in messages:
            properties = None
            if user_property:
                properties = Properties(PacketTypes.PUBLISH)
                properties.UserProperty = ("origin", "test")
            client.publish(topic, payload, qos=1, retain=retain,
                           properties=properties).wait_for_publish(5)
    finally:
        client.loop_stop()
        client.disconnect()


class Collector:
    """Takes what the intake offers; acknowledges only when told to."""

    def __init__(self) -> None:
        self.taken: list[tuple[RawMessage, object]] = []
        self.slow: list[RawMessage] = []

    def offer(self, message: RawMessage, acknowledge: object) -> bool:
        self.taken.append((message, acknowledge))
        return True

    async def handler(self, message: RawMessage) -> None:
        self.slow.append(message)

    def acknowledge_all(self) -> None:
        for message, acknowledge in self.taken:
            acknowledge([message.mid])  # type: ignore[operator]


async def session(port: int, client_id: str, topic_filter: str, collector: Collector,
                  expect: int, *, acknowledge: bool) -> None:
    intake = GmqttIntake(BrokerUrl.parse(f"mqtt://127.0.0.1:{port}"), client_id,
                         [topic_filter])
    task = asyncio.create_task(intake.run(collector.handler, offer=collector.offer))
    try:
        await asyncio.wait_for(intake.connected.wait(), 10)
        await asyncio.sleep(0.2)  # the SUBACK, for a first session
        for _ in range(500):
            if len(collector.taken) >= expect:
                break
            await asyncio.sleep(0.01)
        if acknowledge:
            collector.acknowledge_all()
            await asyncio.sleep(0.2)  # let the PUBACKs reach the broker
    finally:
        await intake.stop()
        await asyncio.wait_for(task, 10)


def test_messages_are_offered_with_their_flags_and_acked_in_one_write(mosquitto) -> None:
    client_id = f"intake-fast-{uuid.uuid4().hex[:8]}"
    base = f"fast/{uuid.uuid4().hex[:6]}"
    first = Collector()
    asyncio.run(session(mosquitto.port, client_id, f"{base}/#", first, 0, acknowledge=False))
    publish_v5(mosquitto.port, [(f"{base}/a", b'{"x":1}', False), (f"{base}/é", b"", False),
                                (f"{base}/r", b"kept", True)])
    publish_v5(mosquitto.port, [(f"{base}/p", b"with a property", False)], user_property=True)

    taken = Collector()
    asyncio.run(session(mosquitto.port, client_id, f"{base}/#", taken, 4, acknowledge=False))
    got = {m.topic: m for m, _ in taken.taken}
    assert set(got) == {f"{base}/a", f"{base}/é", f"{base}/r", f"{base}/p"}
    assert got[f"{base}/a"].payload == b'{"x":1}' and got[f"{base}/a"].qos == 1
    assert got[f"{base}/p"].payload == b"with a property"  # through gmqtt's own path
    assert all(m.mid is not None for m in got.values())
    assert got[f"{base}/r"].retain and not got[f"{base}/a"].retain
    assert taken.slow == []

    # Nothing was acknowledged: the broker sends all of it again, marked as duplicates
    # (the retained message comes once more with the subscription, too).
    again = Collector()
    asyncio.run(session(mosquitto.port, client_id, f"{base}/#", again, 5, acknowledge=True))
    redelivered = [m for m, _ in again.taken if m.dup]
    assert {m.topic for m in redelivered} == set(got)
    acks = {id(a): a for _, a in again.taken}
    assert len(acks) == 1, "one acknowledger per connection"
    assert next(iter(acks.values())).sent == len(again.taken)  # type: ignore[attr-defined]

    # Acknowledged this time: nothing is left in the session.
    after = Collector()
    asyncio.run(session(mosquitto.port, client_id, f"{base}/#", after, 1, acknowledge=False))
    assert [m.topic for m, _ in after.taken if not m.retain] == []


def test_an_acknowledgement_for_a_closed_connection_is_dropped(mosquitto) -> None:
    client_id = f"intake-closed-{uuid.uuid4().hex[:8]}"
    base = f"closed/{uuid.uuid4().hex[:6]}"
    asyncio.run(session(mosquitto.port, client_id, f"{base}/#", Collector(), 0,
                        acknowledge=False))
    publish_v5(mosquitto.port, [(f"{base}/a", b"1", False)])
    old = Collector()
    asyncio.run(session(mosquitto.port, client_id, f"{base}/#", old, 1, acknowledge=False))
    old.acknowledge_all()  # too late: that connection is gone
    assert old.taken[0][1].sent == 0  # type: ignore[attr-defined]
    later = Collector()
    asyncio.run(session(mosquitto.port, client_id, f"{base}/#", later, 1, acknowledge=True))
    assert [m.topic for m, _ in later.taken] == [f"{base}/a"]
