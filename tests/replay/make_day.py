"""Writes ``tests/fixtures/replay/day.jsonl``: a day of Les Lilas' traffic, as ``palier record``
would have captured it on Wednesday 25 November 2026 (Europe/Paris).

Run ``.venv/bin/python -m tests.replay.make_day`` after changing it, then check the new
timeline by eye before updating the golden (see ``tests/replay/test_replay.py``).

The traffic is generated, not recorded, so that the incidents happen at known times and
the file is the same on every machine (one seeded random source, read in a fixed order).
Payloads have the shapes the firmware publishes (compare ``tests/fixtures/payloads.jsonl``):
zigbee2mqtt JSON state per device with retained availability, Tasmota ``tele`` STATE and
SENSOR every five minutes with a retained LWT.

The day's incidents:

==========  ===============================================================================
00:00       retained availability of every device and bridge, as a fresh subscriber gets it
01:38       the hall door of entrance B is left open (the cold night follows)
02:00-06:30 hall B hovers around 14 °C with ±0.55 °C of noise (hysteresis keeps one alarm)
03:17       a truncated JSON state from the landing thermometer A 3
08:02       an empty payload from the leak sensor of cellar A
10:42:07    water in cellar B; the sump pump runs; dry again at 11:05:12
12:30       a Tasmota reading that is not a number ("n/a")
14:00:20    lift B faults; repaired at 17:23:40
15:12       the boiler-room leak sensor's battery dies: nothing from it after this
15:39       a new zigbee device is paired but not configured (unclaimed traffic)
19:45       binary garbage on lift A's topic (kept as base64 in the recording)
21:10       a JSON array instead of an object from hall A's thermometer
21:47-21:49 the bridge reports lift A offline, then online again
==========  ===============================================================================
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway.record import RecordedMessage

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "replay" / "day.jsonl"
SEED = 20261125
TZ = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 11, 25, tzinfo=TZ).timestamp()
END = T0 + 24 * 3600
Z2M = "zigbee2mqtt"


def at(hours: int, minutes: int, seconds: float = 0.0) -> float:
    return T0 + hours * 3600 + minutes * 60 + seconds


# The incidents, in one place: the test reads them to check the golden.
LEAK_WET, LEAK_DRY = at(10, 42, 7.318), at(11, 5, 12.604)
LIFT_FAULT, LIFT_BACK = at(14, 0, 20.412), at(17, 23, 40.137)
COLD_FROM, COLD_TO = at(2, 0), at(6, 30)
DOOR_PROPPED, DOOR_SHUT = at(1, 38, 12.5), at(6, 24, 50.2)
BATTERY_DIES = at(15, 12)
LIFT_A_OFFLINE, LIFT_A_ONLINE = at(21, 47, 3.71), at(21, 49, 31.05)


@dataclass(frozen=True, slots=True)
class Msg:
    t: float
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False


def js(obj: object) -> bytes:
    """zigbee2mqtt and Tasmota publish compact JSON."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def local(t: float) -> str:
    """Tasmota's ``Time``: the device's local clock, without zone."""
    return datetime.fromtimestamp(math.floor(t), TZ).strftime("%Y-%m-%dT%H:%M:%S")


def ticks(rng: random.Random, low: float, high: float, start: float | None = None
          ) -> Iterator[float]:
    """Report times of a device with a jittered period, through the day."""
    t = T0 + rng.uniform(2.0, high) if start is None else start
    while t < END:
        yield t
        t += rng.uniform(low, high)


# ── devices ───────────────────────────────────────────────────────────────────────────


def leak_sensor(rng: random.Random, source: str, *, battery: int, temperature: float,
                wet: tuple[float, float] | None = None, dies: float | None = None) -> list[Msg]:
    """Aqara SJCGQ11LM: a report every few minutes, and at once when it gets wet or dry."""
    linkquality = rng.randint(60, 150)
    times = list(ticks(rng, 240, 420))
    if wet is not None:
        times = sorted({*times, *wet})
    out = []
    for t in times:
        if dies is not None and t >= dies:
            break
        level = battery - (3 if dies is not None and t > dies - 4 * 3600 else 0)
        linkquality = min(255, max(5, linkquality + rng.randint(-6, 6)))
        temp = round(temperature + rng.gauss(0, 0.3))
        state = {
            "battery": level, "battery_low": level < 20, "device_temperature": temp,
            "last_seen": int(t * 1000), "linkquality": linkquality, "power_outage_count": 7,
            "tamper": False, "temperature": temp, "voltage": 2800 + level * 3,
            "water_leak": wet is not None and wet[0] <= t < wet[1],
        }
        out.append(Msg(t, f"{Z2M}/{source}", js(state)))
    return out


def thermometer(rng: random.Random, source: str, curve: Callable[[float], float], *,
                noise: Callable[[float], float], period: tuple[float, float] = (180, 300)
                ) -> list[Msg]:
    """Aqara WSDCGQ11LM: temperature, humidity and pressure every few minutes."""
    battery, linkquality = rng.randint(70, 100), rng.randint(60, 160)
    humidity = rng.uniform(42, 55)
    out = []
    for t in ticks(rng, *period):
        humidity = min(80.0, max(30.0, humidity + rng.gauss(0, 0.4)))
        linkquality = min(255, max(5, linkquality + rng.randint(-6, 6)))
        state = {
            "battery": battery, "humidity": round(humidity, 2), "last_seen": int(t * 1000),
            "linkquality": linkquality, "power_outage_count": 2,
            "pressure": round(1013.2 + rng.gauss(0, 0.6), 1),
            "temperature": round(curve(t) + noise(t), 2), "voltage": 2900 + battery,
        }
        out.append(Msg(t, f"{Z2M}/{source}", js(state)))
    return out


def hall_b(t: float) -> float:
    """Warm evening, the door left open at 01:38, a cold night, the heating back at 06:30."""
    h = (t - T0) / 3600
    if h < 1.6:
        return 17.8 - 0.3 * h
    if h < 2.0:
        return 17.3 - (17.3 - 14.1) * (h - 1.6) / 0.4
    if h < 6.5:
        return 13.75
    if h < 7.3:
        return 13.75 + (18.2 - 13.75) * (h - 6.5) / 0.8
    return 18.4 + 0.5 * math.sin((h - 7.3) / 16 * math.pi)


def cold_noise(rng: random.Random) -> Callable[[float], float]:
    """Around 14 °C the noise is what makes a rule without hysteresis flap."""
    def noise(t: float) -> float:
        if COLD_FROM <= t < COLD_TO:
            return rng.uniform(-0.55, 0.55)
        return rng.gauss(0, 0.08)
    return noise


def lift_monitor(rng: random.Random, source: str, *,
                 fault: tuple[float, float] | None = None,
                 offline: tuple[float, float] | None = None) -> list[Msg]:
    """A lift controller's monitor, mains-powered: every two minutes, and on a fault edge."""
    linkquality = rng.randint(90, 200)
    times = list(ticks(rng, 110, 130))
    if fault is not None:
        times = sorted({*times, *fault})
    out = []
    for t in times:
        if offline is not None and offline[0] <= t < offline[1]:
            continue
        hour = datetime.fromtimestamp(t, TZ).hour
        busy = 0.05 if hour < 6 else 0.45 if 7 <= hour < 21 else 0.2
        broken = fault is not None and fault[0] <= t < fault[1]
        moving = not broken and rng.random() < busy
        linkquality = min(255, max(5, linkquality + rng.randint(-5, 5)))
        state = {
            "door_open": not moving and rng.random() < 0.15, "fault": broken,
            "linkquality": linkquality, "running": moving,
            "state": "fault" if broken else "moving" if moving else "idle",
        }
        out.append(Msg(t, f"{Z2M}/{source}", js(state)))
    if offline is not None:
        topic = f"{Z2M}/{source}/availability"
        out += [Msg(offline[0], topic, js({"state": "offline"}), 1, True),
                Msg(offline[1], topic, js({"state": "online"}), 1, True)]
    return out


def door_sensor(rng: random.Random, source: str, *, rates: dict[range, float],
                propped: tuple[float, float] | None = None) -> list[Msg]:
    """Aqara MCCGQ11LM: ``contact`` true while closed; on every change and hourly."""
    battery, linkquality = rng.randint(60, 100), rng.randint(50, 150)
    changes: list[tuple[float, bool | None]] = []
    if propped is not None:
        changes += [(propped[0], False), (propped[1], True)]
    t = T0
    while t < END:
        hour = datetime.fromtimestamp(t, TZ).hour
        rate = next(r for hours, r in rates.items() if hour in hours)
        t += rng.expovariate(rate / 3600)
        if t >= END or (propped is not None and propped[0] - 60 <= t < propped[1] + 60):
            continue
        changes += [(t, False), (t + rng.uniform(8, 40), True)]
    changes += [(h, None) for h in ticks(rng, 3000, 3600)]  # hourly reports
    out = []
    closed = True
    for t, contact in sorted(changes, key=lambda c: c[0]):
        if t >= END:
            break
        if contact is not None:
            closed = contact
        linkquality = min(255, max(5, linkquality + rng.randint(-6, 6)))
        state = {"battery": battery, "contact": closed, "device_temperature": 17,
                 "linkquality": linkquality, "power_outage_count": 1,
                 "voltage": 2900 + battery}
        out.append(Msg(t, f"{Z2M}/{source}", js(state)))
    return out


def sump_pump(rng: random.Random, topic: str) -> list[Msg]:
    """A Tasmota plug (TelePeriod 300): STATE then SENSOR; the pump runs during the leak."""
    total = 214.381
    uptime = 3 * 86400 + 4 * 3600 + 12 * 60
    out = []
    for t in ticks(rng, 299.9, 300.1, start=T0 + 17.25):
        running = LEAK_WET + 150 <= t < LEAK_DRY - 60 or rng.random() < 0.03
        power = round(rng.uniform(395, 430)) if running else round(rng.uniform(2, 4))
        total = round(total + power * 300 / 3_600_000, 3)
        up = int(uptime + (t - T0))
        state = {
            "Time": local(t), "Uptime": f"{up // 86400}T{up % 86400 // 3600:02d}:"
            f"{up % 3600 // 60:02d}:{up % 60:02d}", "UptimeSec": up, "Heap": 26,
            "SleepMode": "Dynamic", "Sleep": 50, "LoadAvg": 19, "MqttCount": 1, "POWER": "ON",
            "Wifi": {"AP": 1, "SSId": "lilas-iot", "BSSId": "3C:A6:2F:11:52:08", "Channel": 6,
                     "Mode": "11n", "RSSI": rng.randint(58, 66), "Signal": rng.randint(-71, -67),
                     "LinkCount": 1, "Downtime": "0T00:00:03"},
        }
        sensor = {"Time": local(t), "ENERGY": {
            "TotalStartTime": "2025-03-02T09:12:44", "Total": total, "Yesterday": 0.412,
            "Today": round(total - 214.381, 3), "Period": round(power * 300 / 3600),
            "Power": power, "ApparentPower": power + 5, "ReactivePower": 4,
            "Factor": 0.97 if running else 0.38, "Voltage": rng.randint(229, 233),
            "Current": round(power / 230, 3)}}
        out += [Msg(t, f"tele/{topic}/STATE", js(state)),
                Msg(t + 0.042, f"tele/{topic}/SENSOR", js(sensor))]
    return out


def bridge_life(rng: random.Random) -> list[Msg]:
    """Retained state a fresh subscriber receives first, then the bridge's own chatter."""
    sources = ["leak_cave_a", "leak_cave_b", "leak_chaufferie_b", "leak_cuisine_b32",
               "temp_hall_a", "temp_hall_b", "temp_palier_a3", "temp_palier_b5",
               "lift_lilas_a", "lift_lilas_b", "door_hall_b", "door_cave_a"]
    t = T0 + 0.213
    out = [Msg(t, f"{Z2M}/bridge/state", js({"state": "online"}), 1, True),
           Msg(t + 0.001, "tele/pompe-b/LWT", b"Online", 1, True)]
    for i, source in enumerate(sources):
        out.append(Msg(t + 0.002 + i / 1000, f"{Z2M}/{source}/availability",
                       js({"state": "online"}), 1, True))
    paired = at(15, 39, 48.9)
    new = "0x00158d0004a1b2c3"
    out.append(Msg(paired, f"{Z2M}/bridge/logging", js(
        {"level": "info", "message": f"Successfully interviewed '{new}', device has "
                                     "successfully been paired"})))
    for minutes in (40, 45, 52, 58):
        t = at(15, minutes, rng.uniform(0, 50))
        out.append(Msg(t, f"{Z2M}/{new}", js(
            {"battery": 100, "humidity": 51.3, "linkquality": 87, "temperature": 20.9,
             "voltage": 3005})))
    return out


def broken() -> list[Msg]:
    """What a real day brings: truncated, empty, mistyped and binary payloads."""
    return [
        Msg(at(3, 17, 44.1), f"{Z2M}/temp_palier_a3", b'{"battery":91,"humidity":47.'),
        Msg(at(8, 2, 10.6), f"{Z2M}/leak_cave_a", b""),
        Msg(at(12, 30, 0.9), "tele/pompe-b/SENSOR", js(
            {"Time": local(at(12, 30)), "ENERGY": {"Total": 214.6, "Power": "n/a"}})),
        Msg(at(19, 45, 13.3), f"{Z2M}/lift_lilas_a",
            bytes([0x02, 0x00, 0xFE, 0x81, 0x10, 0x00, 0x7F, 0xC3])),
        Msg(at(21, 10, 5.8), f"{Z2M}/temp_hall_a", b'["temperature",18.2]'),
    ]


def day() -> list[Msg]:
    rng = random.Random(SEED)
    night = range(0, 6)
    door_rates = {night: 0.5, range(6, 7): 4.0, range(7, 10): 12.0, range(10, 17): 6.0,
                  range(17, 21): 10.0, range(21, 24): 3.0}
    cellar_rates = {night: 0.05, range(6, 24): 0.6}
    messages = [
        *bridge_life(rng),
        *leak_sensor(rng, "leak_cave_a", battery=88, temperature=13.5),
        *leak_sensor(rng, "leak_cave_b", battery=76, temperature=13.0,
                     wet=(LEAK_WET, LEAK_DRY)),
        *leak_sensor(rng, "leak_chaufferie_b", battery=9, temperature=24.0,
                     dies=BATTERY_DIES),
        *leak_sensor(rng, "leak_cuisine_b32", battery=95, temperature=21.0),
        *thermometer(rng, "temp_hall_a", lambda t: 18.3 + 0.4 * math.sin((t - T0) / 86400
                                                                          * 2 * math.pi),
                     noise=lambda t: rng.gauss(0, 0.08)),
        *thermometer(rng, "temp_hall_b", hall_b, noise=cold_noise(rng), period=(150, 270)),
        *thermometer(rng, "temp_palier_a3", lambda t: 20.6, noise=lambda t: rng.gauss(0, 0.1)),
        *thermometer(rng, "temp_palier_b5", lambda t: 21.1, noise=lambda t: rng.gauss(0, 0.1)),
        *lift_monitor(rng, "lift_lilas_a", offline=(LIFT_A_OFFLINE, LIFT_A_ONLINE)),
        *lift_monitor(rng, "lift_lilas_b", fault=(LIFT_FAULT, LIFT_BACK)),
        *door_sensor(rng, "door_hall_b", rates=door_rates, propped=(DOOR_PROPPED, DOOR_SHUT)),
        *door_sensor(rng, "door_cave_a", rates=cellar_rates),
        *sump_pump(rng, "pompe-b"),
        *broken(),
    ]
    # A recorder stamps messages as they arrive: in order, a few milliseconds apart at most.
    return sorted((m for m in messages if m.t < END), key=lambda m: (m.t, m.topic))


def main() -> None:
    lines = [RecordedMessage(round(m.t, 3), m.topic, m.payload, m.qos, m.retain).to_line()
             for m in day()]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} messages, {OUT.stat().st_size:,} bytes to {OUT}")


if __name__ == "__main__":
    main()
