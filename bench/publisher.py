"""The device side, in its own process: paho-mqtt publishing a traffic file at QoS 1.

``python -m bench.publisher --port P --traffic FILE [--connections 4] [--rate 0]
[--seconds S]`` spreads the messages over several connections (as many gateways'
worth of devices would) and waits for every PUBACK. ``--rate 0`` publishes as fast as
the broker takes them; a positive rate paces them in 10 ms slices for ``--seconds``,
cycling through the file. It prints one JSON line: messages, seconds, rate.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from collections.abc import Sequence

import paho.mqtt.client as mqtt

from bench.traffic import Message, read_traffic

#: Unacknowledged QoS 1 messages per connection, as the broker's own window.
INFLIGHT = 1000


class _Connection:
    def __init__(self, port: int, client_id: str) -> None:
        self.acked = 0
        self.sent = 0
        self._done = threading.Event()
        self._target = -1
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(INFLIGHT)
        self.client.max_queued_messages_set(0)
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", port, keepalive=60)
        sock = self.client.socket()
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client.loop_start()

    def _on_publish(self, *_args: object) -> None:
        self.acked += 1
        if self.acked == self._target:
            self._done.set()

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1)
        self.sent += 1

    def wait(self, timeout: float) -> bool:
        self._target = self.sent
        if self.acked >= self.sent:
            return True
        return self._done.wait(timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish_all(port: int, messages: Sequence[Message], connections: int,
                timeout: float = 600.0) -> dict[str, float]:
    """Everything, as fast as the broker acknowledges it; one thread feeds all connections."""
    conns = [_Connection(port, f"bench-pub-{i}") for i in range(connections)]
    try:
        start = time.perf_counter()
        for i, (topic, payload) in enumerate(messages):
            conns[i % connections].publish(topic, payload)
        ok = all(c.wait(timeout) for c in conns)
        seconds = time.perf_counter() - start
    finally:
        for c in conns:
            c.close()
    if not ok:
        raise SystemExit(f"publisher: not every PUBACK arrived within {timeout:g} s")
    return {"messages": len(messages), "seconds": seconds, "rate": len(messages) / seconds}


def publish_paced(port: int, messages: Sequence[Message], connections: int, rate: float,
                  seconds: float) -> dict[str, float]:
    """``rate`` messages a second for ``seconds``, in 10 ms slices, cycling the file."""
    conns = [_Connection(port, f"bench-paced-{i}") for i in range(connections)]
    sent = 0
    try:
        start = time.perf_counter()
        slice_ = 0.01
        while True:
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
            due = int(elapsed * rate) + 1
            while sent < due:
                topic, payload = messages[sent % len(messages)]
                conns[sent % connections].publish(topic, payload)
                sent += 1
            time.sleep(max(0.0, slice_ - (time.perf_counter() - start - elapsed)))
        for c in conns:
            c.wait(30)
        took = time.perf_counter() - start
    finally:
        for c in conns:
            c.close()
    return {"messages": sent, "seconds": took, "rate": sent / took}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.publisher", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--traffic", required=True)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    from pathlib import Path

    messages = read_traffic(Path(args.traffic))
    if args.rate > 0:
        result = publish_paced(args.port, messages, args.connections, args.rate, args.seconds)
    else:
        result = publish_all(args.port, messages, args.connections)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
