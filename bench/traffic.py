"""Realistic device traffic for the generated installation, written once and replayed by all.

Payloads follow what each firmware really publishes (field names, nesting, the keys
Palier does not read: ``linkquality``, Tasmota's ``Wifi`` block, Shelly's
``aenergy``): a zigbee2mqtt leak sensor's state is about 150 bytes of JSON, a Tasmota
``SENSOR`` about 250, a Shelly ``NotifyStatus`` about 300, an ESPHome state a few
bytes of text. About 1 % of messages are availability (last will, ``online``).

Devices keep their state between reports, as real ones do: a door stays closed, a
pump keeps running, and a flag changes in a few reports out of a hundred (each
device's flags are remembered and flipped with a small chance per report), while
measured values wander within their normal range. Incidents are rare, as in a real
city: a leak in about one leak report in 500, now
and then smoke, stale air or a boiler losing pressure; the buildings the latency
benchmark uses never see one, so its floods always open a fresh alarm.

The file format is a plain frame per message (``>HI`` topic and payload lengths,
then both), so every subscriber under test receives byte-identical traffic.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson

from bench.installation import Catalogue, SimDevice

_FRAME = struct.Struct(">HI")
#: Share of messages that are availability rather than state.
AVAILABILITY_SHARE = 0.01
LEAK_CHANCE = 0.002
SMOKE_CHANCE = 0.0005
CO2_SPIKE_CHANCE = 0.003
PRESSURE_DROP_CHANCE = 0.01

Message = tuple[str, bytes]


def _json(obj: object) -> bytes:
    return orjson.dumps(obj)


class TrafficGenerator:
    """Messages from random devices of ``cat``; deterministic for a given seed."""

    def __init__(self, cat: Catalogue, *, seed: int = 8, incidents: bool = True) -> None:
        self._rng = random.Random(seed)
        self._devices = cat.devices
        self._quiet = set(cat.latency_buildings)
        self._incidents = incidents
        self._ts = 1_764_150_000.0
        self._flags: dict[tuple[str, str], bool] = {}

    def _flag(self, device: SimDevice, name: str, usual: bool, flip: float) -> bool:
        """A boolean the device keeps between reports, changed with chance ``flip``."""
        key = (device.id, name)
        value = self._flags.get(key, usual)
        if self._rng.random() < flip:
            value = not value
        self._flags[key] = value
        return value

    def _chance(self, p: float, device: SimDevice) -> bool:
        return self._incidents and device.building not in self._quiet and self._rng.random() < p

    def messages(self, count: int) -> Iterator[Message]:
        rng = self._rng
        for _ in range(count):
            self._ts += 0.01
            device = rng.choice(self._devices)
            if rng.random() < AVAILABILITY_SHARE:
                yield availability(device)
            else:
                yield self.state(device)

    def state(self, d: SimDevice) -> Message:
        """One state report of ``d``, as its firmware would publish it."""
        if d.family == "zigbee2mqtt":
            return d.topic_root, _json(self._zigbee(d))
        if d.family == "tasmota":
            return self._tasmota(d)
        if d.family == "shelly_gen2":
            return self._shelly(d)
        entity, value = self._esphome(d)
        return f"{d.source}/{entity}/state", value.encode()

    def _zigbee(self, d: SimDevice) -> dict[str, object]:
        rng = self._rng
        battery = rng.randint(40, 100)
        common = {"battery": battery, "linkquality": rng.randint(20, 200),
                  "voltage": 2800 + battery * 3}
        kind = d.kind
        if kind == "water_leak_sensor":
            return {**common, "battery_low": False, "device_temperature": rng.randint(12, 22),
                    "power_outage_count": rng.randint(0, 9), "tamper": False,
                    "water_leak": self._chance(LEAK_CHANCE, d)}
        if kind == "temperature_sensor":
            return {**common, "humidity": round(rng.uniform(35, 65), 2),
                    "power_outage_count": rng.randint(0, 9),
                    "pressure": round(rng.uniform(995, 1030), 1),
                    "temperature": round(rng.uniform(16.5, 24.5), 2)}
        if kind == "door_sensor":
            return {**common, "contact": self._flag(d, "contact", True, 0.02),
                    "device_temperature": rng.randint(15, 25),
                    "power_outage_count": rng.randint(0, 9)}
        if kind == "motion_sensor":
            lux = rng.randint(0, 400)
            return {**common, "device_temperature": rng.randint(15, 25), "illuminance": lux,
                    "illuminance_lux": lux, "occupancy": self._flag(d, "occupancy", False, 0.1),
                    "power_outage_count": rng.randint(0, 9)}
        if kind == "smoke_detector":
            return {**common, "battery_low": False, "smoke": self._chance(SMOKE_CHANCE, d),
                    "supervision": False, "tamper": False, "test": False}
        if kind == "lift_monitor":
            running = self._flag(d, "running", False, 0.1)
            return {"door_open": self._flag(d, "door", False, 0.05), "fault": False,
                    "linkquality": rng.randint(20, 200), "running": running,
                    "state": "moving" if running else "idle"}
        raise ValueError(f"no zigbee2mqtt model for {kind}")

    def _tasmota(self, d: SimDevice) -> Message:
        rng = self._rng
        stamp = f"2025-11-26T10:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
        if d.kind == "energy_meter":
            power = rng.randint(0, 4000)
            voltage = rng.randint(226, 236)
            return f"tele/{d.source}/SENSOR", _json({"Time": stamp, "ENERGY": {
                "TotalStartTime": "2024-01-10T09:00:00", "Total": round(rng.uniform(100, 9000), 3),
                "Yesterday": round(rng.uniform(1, 20), 3), "Today": round(rng.uniform(0, 15), 3),
                "Period": rng.randint(0, 30), "Power": power, "ApparentPower": power + 20,
                "ReactivePower": rng.randint(0, 300), "Factor": round(rng.uniform(0.8, 1), 2),
                "Voltage": voltage, "Current": round(power / voltage, 3)}})
        uptime = rng.randint(1000, 9_000_000)
        relay = "ON" if self._flag(d, "power", False, 0.02) else "OFF"
        days, rest = divmod(uptime, 86400)
        clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
        return f"tele/{d.source}/STATE", _json({
            "Time": stamp, "Uptime": f"{days}T{clock}",
            "UptimeSec": uptime, "Heap": 26, "SleepMode": "Dynamic", "Sleep": 50,
            "LoadAvg": 19, "MqttCount": 1, "POWER": relay,
            "Wifi": {"AP": 1, "SSId": "immeuble", "BSSId": "AA:BB:CC:DD:EE:FF", "Channel": 6,
                     "Mode": "11n", "RSSI": rng.randint(40, 100), "Signal": rng.randint(-80, -40),
                     "LinkCount": 1, "Downtime": "0T00:00:03"}})

    def _shelly(self, d: SimDevice) -> Message:
        rng = self._rng
        on = self._flag(d, "output", True, 0.02)
        power = round(rng.uniform(20, 900), 1) if on else 0.0
        total = round(rng.uniform(100, 5000), 3)
        temp = round(rng.uniform(30, 55), 1)
        return f"{d.source}/events/rpc", _json({
            "src": d.source, "dst": f"{d.source}/events", "method": "NotifyStatus",
            "params": {"ts": round(self._ts, 2), "switch:0": {
                "id": 0, "output": on, "apower": power, "voltage": round(rng.uniform(226, 236), 1),
                "current": round(power / 230, 3),
                "aenergy": {"total": total, "by_minute": [round(rng.uniform(0, 900), 3)
                                                          for _ in range(3)],
                            "minute_ts": int(self._ts)},
                "temperature": {"tC": temp, "tF": round(temp * 9 / 5 + 32, 1)}}}})

    def _esphome(self, d: SimDevice) -> tuple[str, str]:
        rng = self._rng
        kind = d.kind
        if kind == "co2_sensor":
            entity = rng.choice(("sensor/co2", "sensor/temperature", "sensor/humidity"))
            if entity == "sensor/co2":
                spike = self._chance(CO2_SPIKE_CHANCE, d)
                return entity, str(rng.randint(1600, 2200) if spike else rng.randint(420, 1150))
            if entity == "sensor/temperature":
                return entity, f"{rng.uniform(18, 24):.1f}"
            return entity, f"{rng.uniform(35, 60):.1f}"
        if kind == "boiler":
            entity = rng.choice(("sensor/flow_temperature", "sensor/return_temperature",
                                 "sensor/pressure", "binary_sensor/burner",
                                 "binary_sensor/fault", "number/setpoint"))
            if entity == "sensor/pressure":
                low = self._chance(PRESSURE_DROP_CHANCE, d)
                return entity, f"{rng.uniform(0.4, 0.7) if low else rng.uniform(1.1, 1.8):.2f}"
            if entity.startswith("binary_sensor"):
                burner = entity.endswith("burner") and self._flag(d, "burner", True, 0.05)
                return entity, "ON" if burner else "OFF"
            if entity == "number/setpoint":
                return entity, "65"
            return entity, f"{rng.uniform(40, 75):.1f}"
        entity = rng.choice(("sensor/volume", "sensor/flow"))
        if entity == "sensor/volume":
            return entity, f"{rng.uniform(100, 9000):.3f}"
        return entity, f"{rng.uniform(0, 12):.2f}"


def availability(d: SimDevice, online: bool = True) -> Message:
    """The family's own online/offline message for ``d``."""
    if d.family == "zigbee2mqtt":
        return f"{d.topic_root}/availability", _json({"state": "online" if online else "offline"})
    if d.family == "tasmota":
        return f"tele/{d.source}/LWT", b"Online" if online else b"Offline"
    if d.family == "shelly_gen2":
        return f"{d.source}/online", b"true" if online else b"false"
    return f"{d.source}/status", b"online" if online else b"offline"


def leak(d: SimDevice, wet: bool = True) -> Message:
    """A zigbee2mqtt leak sensor reporting water (the latency benchmark's incident)."""
    return d.topic_root, _json({"battery": 97, "battery_low": False, "device_temperature": 17,
                                "linkquality": 120, "power_outage_count": 1, "tamper": False,
                                "voltage": 3091, "water_leak": wet})


def write_traffic(path: Path, messages: Sequence[Message] | Iterator[Message]) -> int:
    """Write ``messages`` as frames; return how many."""
    count = 0
    with path.open("wb") as out:
        for topic, payload in messages:
            raw = topic.encode()
            out.write(_FRAME.pack(len(raw), len(payload)))
            out.write(raw)
            out.write(payload)
            count += 1
    return count


def read_traffic(path: Path) -> list[Message]:
    data = path.read_bytes()
    out: list[Message] = []
    pos, end, size = 0, len(data), _FRAME.size
    while pos < end:
        tlen, plen = _FRAME.unpack_from(data, pos)
        pos += size
        topic = data[pos:pos + tlen].decode()
        pos += tlen
        out.append((topic, data[pos:pos + plen]))
        pos += plen
    return out
