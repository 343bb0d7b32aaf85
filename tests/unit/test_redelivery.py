"""gateway.redelivery: a redelivered message already stored is recognised, nothing else is."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.records import Reading
from firmware_bridge.records import RawMessage
from gateway.redelivery import DeliveryLog
from gateway.telemetry.store import TelemetryStore


def message(mid: int, payload: bytes = b'{"energy": 1}', dup: bool = False) -> RawMessage:
    return RawMessage("zigbee2mqtt/meter_1", payload, 1, False, 0.0, dup=dup, mid=mid)


def store_and_log(tmp_path: Path, client_id: str = "gw") -> tuple[TelemetryStore, DeliveryLog]:
    store = TelemetryStore(f"sqlite:///{tmp_path / 't.db'}")
    store.start()
    log = DeliveryLog(store, client_id)
    log.start()
    return store, log


def test_a_committed_message_delivered_again_is_a_repeat_across_a_restart(tmp_path: Path) -> None:
    store, log = store_and_log(tmp_path)
    first = message(7)
    store.write_batch([Reading("meter-1", "energy", 1, 1000.0)], also=log.writer([first]))
    log.remember([first])
    assert log.is_repeat(message(7, dup=True))
    store.close()

    store, restarted = store_and_log(tmp_path)  # what the next process loads
    assert restarted.is_repeat(message(7, dup=True))
    assert restarted.repeats == 1
    store.close()


def test_only_a_redelivery_with_the_same_packet_id_and_bytes_is_a_repeat(tmp_path: Path) -> None:
    store, log = store_and_log(tmp_path)
    store.write_batch([], also=log.writer([message(7)]))  # no readings: the record still goes
    store.close()
    store, log = store_and_log(tmp_path)
    assert not log.is_repeat(message(7)), "no DUP flag: a new message that reuses the id"
    assert not log.is_repeat(message(8, dup=True)), "another packet id"
    assert not log.is_repeat(message(7, b'{"energy": 2}', dup=True)), "other bytes"
    assert log.repeats == 0
    store.close()


def test_sessions_are_apart_and_a_packet_id_keeps_its_latest_message(tmp_path: Path) -> None:
    store, log = store_and_log(tmp_path)
    store.write_batch([], also=log.writer([message(7)]))
    store.write_batch([], also=log.writer([message(7, b'{"energy": 2}')]))  # id reused later
    store.close()
    store, log = store_and_log(tmp_path)
    assert log.is_repeat(message(7, b'{"energy": 2}', dup=True))
    assert not log.is_repeat(message(7, dup=True))
    store.close()
    store, other = store_and_log(tmp_path, client_id="gw-2")
    assert not other.is_repeat(message(7, b'{"energy": 2}', dup=True))
    store.close()


def test_a_failed_transaction_records_nothing(tmp_path: Path) -> None:
    store, log = store_and_log(tmp_path)

    def fail(_connection: object) -> None:
        raise RuntimeError("disk full")

    writer = log.writer([message(9)])
    assert writer is not None
    with pytest.raises(RuntimeError, match="disk full"):
        store.write_batch([], also=lambda c: (writer(c), fail(c)))
    store.close()
    store, log = store_and_log(tmp_path)
    assert not log.is_repeat(message(9, dup=True))
    store.close()
