"""Runtime settings of one ``palier`` process, from the command line and PALIER_* variables."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from gateway.broker_url import BrokerUrl
from gateway.partition import Partition


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"listen address {text!r} must be HOST:PORT, e.g. 127.0.0.1:8000")
    return host.strip("[]") or "127.0.0.1", int(port)


@dataclass(frozen=True)
class Settings:
    config_dir: Path
    broker: BrokerUrl | None = None  # None: start an embedded broker
    database_url: str | None = None  # None: SQLite under var_dir
    listen: tuple[str, int] = ("127.0.0.1", 8000)
    var_dir: Path = Path("var")
    client_id: str = "palier-gateway"
    simulate: bool = False
    simulator_speed: float = 1.0
    ca_file: str | None = None
    embedded_broker: Literal["auto", "mosquitto", "amqtt"] = "auto"
    watch_config: bool = True
    telemetry_url: str | None = None  # None: SQLite at var_dir/telemetry.sqlite3
    telemetry_raw_retention: float = 7 * 86400.0
    influx_url: str | None = None  # None: no InfluxDB sink
    influx_org: str = ""
    influx_bucket: str = ""
    #: Which buildings this worker owns (all of them for a single process).
    partition: Partition = field(default_factory=Partition)
    #: Forward live events to and from other Palier processes over the broker.
    relay_events: bool = False
