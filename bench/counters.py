"""Bare subscribers that only count, each in its own process: the ingest's yardsticks.

``python -m bench.counters paho|gmqtt --port P --client-id ID --prime`` opens a
persistent session (MQTT 5, QoS 1) and leaves, so the broker queues what follows;
the same command with ``--expect N`` comes back, drains the backlog and prints one
JSON line: how many arrived and the rate from the first to the N-th.

* paho-mqtt 2.x: the callback API, PUBACK sent by paho after ``on_message``
  returns; TCP_NODELAY set as Palier sets it (paho leaves Nagle on).
* gmqtt: asyncio, PUBACK on receipt (its default, "optimistic" acknowledgement).

Neither parses the payload: this is the cost of the client library alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

SESSION_EXPIRY = 3600


class Tally:
    """Counts messages; notes the clock at the first and at the expected last one."""

    def __init__(self, expect: int) -> None:
        self.expect = expect
        self.count = 0
        self.first = 0.0
        self.last = 0.0

    def hit(self) -> bool:
        """Count one message; True once the expected number arrived."""
        self.count += 1
        if self.count == 1:
            self.first = time.perf_counter()
        if self.count == self.expect:
            self.last = time.perf_counter()
            return True
        return False

    def result(self) -> dict[str, Any]:
        seconds = self.last - self.first if self.last else 0.0
        return {"received": self.count, "expected": self.expect, "seconds": seconds,
                "rate": (self.count - 1) / seconds if seconds > 0 else 0.0}


def run_paho(port: int, client_id: str, filters: Sequence[str], expect: int,
             timeout: float) -> dict[str, Any]:
    tally = Tally(expect)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5)
    subscribed = threading.Event()

    def on_connect(c: mqtt.Client, _u: object, _f: object, _rc: object, _p: object) -> None:
        sock = c.socket()
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.subscribe([(f, 1) for f in filters])

    def on_subscribe(c: mqtt.Client, *_args: object) -> None:
        subscribed.set()
        if expect == 0:
            c.disconnect()

    def on_message(c: mqtt.Client, _u: object, _m: mqtt.MQTTMessage) -> None:
        if tally.hit():
            c.disconnect()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = SESSION_EXPIRY
    client.connect("127.0.0.1", port, keepalive=60, clean_start=False, properties=props)
    timer = threading.Timer(timeout, client.disconnect)
    timer.start()
    try:
        client.loop_forever()
    finally:
        timer.cancel()
    return tally.result()


async def _gmqtt(port: int, client_id: str, filters: Sequence[str], expect: int,
                 timeout: float) -> dict[str, Any]:
    from gmqtt import Client

    tally = Tally(expect)
    done = asyncio.Event()
    subscribed = asyncio.Event()
    client = Client(client_id, clean_session=False, session_expiry_interval=SESSION_EXPIRY,
                    receive_maximum=1000)
    client.set_config({"reconnect_retries": 0})

    def on_connect(c: Client, *_args: object) -> None:
        for f in filters:
            c.subscribe(f, qos=1)

    def on_subscribe(*_args: object) -> None:
        subscribed.set()

    def on_message(_c: Client, _topic: str, _payload: bytes, _qos: int, _props: object) -> int:
        if tally.hit():
            done.set()
        return 0

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    await client.connect("127.0.0.1", port, keepalive=60)
    try:
        await asyncio.wait_for((done if expect else subscribed).wait(), timeout)
    except TimeoutError:
        pass
    finally:
        await asyncio.sleep(0.05)  # let the last PUBACKs leave
        await client.disconnect()
    return tally.result()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.counters", description=__doc__)
    parser.add_argument("library", choices=("paho", "gmqtt"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--filter", action="append", default=None)
    parser.add_argument("--prime", action="store_true", help="open the session and leave")
    parser.add_argument("--expect", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    filters = args.filter or ["#"]
    expect = 0 if args.prime else args.expect
    if args.library == "paho":
        result = run_paho(args.port, args.client_id, filters, expect, args.timeout)
    else:
        result = asyncio.run(_gmqtt(args.port, args.client_id, filters, expect, args.timeout))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
