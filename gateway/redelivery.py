"""Recognises a QoS 1 message the broker delivers a second time, so that it is stored once.

At QoS 1 a message is delivered at least once. After a crash — the gateway's, after it
committed a batch but before its PUBACKs left, or the broker's, restarted from a
snapshot taken while messages were in flight — the broker sends the unacknowledged
messages again, with the DUP flag and their packet id. Alarms are idempotent by
episode, but a reading is stamped with the time it is received: stored again, it
would be a second sample, a few seconds after the first.

So the gateway keeps, for its MQTT session, the packet id and a digest (topic and
payload) of each message it committed, in the same transaction as the readings — the
commit that precedes the PUBACK. A redelivered message (DUP set) whose packet id and
digest match a committed one was already stored: it is acknowledged and not processed
again. A message is never skipped for its content alone: the broker gives a packet id to
one message in flight at a time, so a match needs the same id and the same bytes, and
only redeliveries are checked. One row per packet id (at most 65,535 per session).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from sqlalchemy import Column, Connection, Engine, Integer, MetaData, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from firmware_bridge.records import RawMessage
from gateway.telemetry.store import TelemetryStore

log = logging.getLogger(__name__)

_meta = MetaData()
deliveries = Table(
    "intake_deliveries",
    _meta,
    Column("client_id", String(128), primary_key=True),
    Column("mid", Integer, primary_key=True, autoincrement=False),
    Column("digest", String(32), nullable=False),
)


def digest(message: RawMessage) -> str:
    return hashlib.blake2b(message.topic.encode() + b"\0" + message.payload,
                           digest_size=16).hexdigest()


class DeliveryLog:
    """The committed (packet id → digest) of one MQTT session, kept in ``store``'s database
    and written in the transaction of the batch's readings (``store.write_batch(also=)``)."""

    def __init__(self, store: TelemetryStore, client_id: str) -> None:
        self.store = store
        self._engine: Engine = store.ack_engine  # where write_batch commits
        self.client_id = client_id
        self._committed: dict[int, str] = {}
        self.repeats = 0

    def start(self) -> None:
        """Create the table if missing and load what the last run committed."""
        _meta.create_all(self._engine, checkfirst=True)
        with self._engine.connect() as connection:
            rows = connection.execute(select(deliveries.c.mid, deliveries.c.digest)
                                      .where(deliveries.c.client_id == self.client_id))
            self._committed = {mid: value for mid, value in rows}

    def is_repeat(self, message: RawMessage) -> bool:
        """True for a redelivery of a message whose effects are already committed."""
        if not message.dup or message.mid is None:
            return False
        if self._committed.get(message.mid) != digest(message):
            return False
        self.repeats += 1
        log.info("%s redelivered (packet %d) after it was stored: acknowledged, not stored "
                 "again", message.topic, message.mid)
        return True

    def writer(self, messages: Iterable[RawMessage]) -> Callable[[Connection], None] | None:
        """What to run inside the transaction that stores ``messages``' readings."""
        rows = {m.mid: digest(m) for m in messages if m.mid is not None}
        if not rows:
            return None

        def write(connection: Connection) -> None:
            if connection.dialect.name == "sqlite" and _SQLITE_JSON:
                # one statement for the batch (one GIL release), not one per message
                connection.exec_driver_sql(_SQLITE_BULK, (self.client_id, orjson.dumps(
                    sorted(rows.items()))))
                return
            values = [{"client_id": self.client_id, "mid": mid, "digest": value}
                      for mid, value in sorted(rows.items())]
            connection.execute(_upsert(connection), values)

        return write

    def remember(self, messages: Iterable[RawMessage]) -> None:
        """After the commit: the in-memory copy the next redeliveries are checked against."""
        for message in messages:
            if message.mid is not None:
                self._committed[message.mid] = digest(message)


_SQLITE_JSON = sqlite3.sqlite_version_info >= (3, 38)
_SQLITE_BULK = ("INSERT INTO intake_deliveries (client_id, mid, digest) "
                "SELECT ?, value ->> 0, value ->> 1 FROM json_each(?) WHERE true "
                "ON CONFLICT (client_id, mid) DO UPDATE SET digest = excluded.digest")


def _upsert(connection: Connection) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(deliveries)
    return stmt.on_conflict_do_update(index_elements=[deliveries.c.client_id, deliveries.c.mid],
                                      set_={"digest": stmt.excluded.digest})
