"""A generated installation the size of a small city: site, bridges, devices, rules, members.

``N`` buildings in neighbourhoods of ten, each with two entrances of five floors
(four flats a floor) and a basement, and a hundred devices of four firmware
families, laid out as an installer would:

* zigbee2mqtt (60 a building): one coordinator per building, so one bridge per
  building with its own base topic ``z2m/<building>`` — leak sensors in the
  basements, temperature sensors on landings and in some flats, door, motion and
  smoke sensors, a lift monitor per entrance;
* Tasmota (15): energy meters in flats and landing-light relays;
* Shelly Gen2 (10): pumps in the basement and switches;
* ESPHome (15): CO₂ sensors on landings, a boiler, water meters.

Wi-Fi families publish on topics that do not name a bridge, so they get one bridge
each for the whole installation. Rules are kind-wide (leaks, smoke, boilers,
batteries…) then per neighbourhood and per building (cold halls, hot landings,
damp cellars) up to the count asked for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ENTRANCES = ("a", "b")
FLOORS = 5
UNITS_PER_FLOOR = 4
DEVICES_PER_BUILDING = 100
#: The password of the members the benchmarks log in as (a private, throw-away database).
PASSWORD = "bench-pass"
RESIDENT = "bench-resident"
INSTALLER = "bench-installer"
MANAGER = "bench-manager"
#: The buildings whose leak sensors the latency benchmark floods, one after the other;
#: the ingest traffic never raises an alarm there, so each flood opens a new alarm.
LATENCY_BUILDINGS = 5

_FLOWERS = ("Lilas", "Tilleuls", "Acacias", "Glycines", "Mimosas", "Platanes", "Érables",
            "Cèdres", "Peupliers", "Saules")


@dataclass(frozen=True, slots=True)
class SimDevice:
    """One simulated device: what the installation declares and what the traffic needs."""

    id: str
    family: str  # zigbee2mqtt | tasmota | shelly_gen2 | esphome
    kind: str
    source: str
    building: str
    place: str
    name: str
    base_topic: str = ""  # zigbee2mqtt only
    points: tuple[tuple[str, str], ...] = ()  # (point, vendor path) where it differs

    @property
    def topic_root(self) -> str:
        """Where the device publishes, without the family's suffixes."""
        if self.family == "zigbee2mqtt":
            return f"{self.base_topic}/{self.source}"
        return self.source


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The generated site's buildings and devices, in a stable order."""

    buildings: tuple[str, ...]
    neighbourhoods: tuple[tuple[str, tuple[str, ...]], ...]
    devices: tuple[SimDevice, ...]

    @property
    def latency_buildings(self) -> tuple[str, ...]:
        return self.buildings[:LATENCY_BUILDINGS]

    def leak_sensors(self, buildings: Sequence[str]) -> list[SimDevice]:
        wanted = set(buildings)
        return [d for d in self.devices if d.kind == "water_leak_sensor" and d.building in wanted]


def building_ids(count: int) -> list[str]:
    return [f"b{i:03d}" for i in range(count)]


def _building_name(index: int) -> str:
    return f"Résidence Les {_FLOWERS[index % len(_FLOWERS)]} {index // len(_FLOWERS) + 1}"


def _units(building: str, entrance: str) -> list[str]:
    return [f"{building}/{entrance}/{floor}/{floor}{n}"
            for floor in range(FLOORS) for n in range(1, UNITS_PER_FLOOR + 1)]


def _hexid(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _building_devices(index: int, b: str) -> Iterator[SimDevice]:
    """The hundred devices of one building; see the module docstring for the layout."""
    bname = _building_name(index)
    base = f"z2m/{b}"

    def z2m(kind: str, source: str, place: str, name: str) -> SimDevice:
        return SimDevice(f"{source.replace('_', '-')}-{b}", "zigbee2mqtt", kind, source, b,
                         place, f"{name}, {bname}", base)

    for e in ENTRANCES:
        E = e.upper()
        for k in range(1, 4):
            yield z2m("water_leak_sensor", f"leak_{e}_{k}", f"{b}/{e}/basement",
                      f"Détecteur de fuite {E}{k}, sous-sol {E}")
        for floor in range(FLOORS):
            yield z2m("temperature_sensor", f"temp_{e}_{floor}", f"{b}/{e}/{floor}",
                      f"Température palier {E}{floor}")
        for unit in _units(b, e)[4:11]:
            yield z2m("temperature_sensor", f"temp_{e}_u{unit.rsplit('/', 1)[1]}", unit,
                      f"Température appartement {unit.rsplit('/', 1)[1]}")
        for floor in range(FLOORS):
            yield z2m("door_sensor", f"door_{e}_{floor}", f"{b}/{e}/{floor}",
                      f"Porte palier {E}{floor}")
            yield z2m("motion_sensor", f"motion_{e}_{floor}", f"{b}/{e}/{floor}",
                      f"Présence palier {E}{floor}")
        for floor in range(1, FLOORS):
            yield z2m("smoke_detector", f"smoke_{e}_{floor}", f"{b}/{e}/{floor}",
                      f"Détecteur de fumée {E}{floor}")
        yield z2m("lift_monitor", f"lift_{e}", f"{b}/{e}", f"Ascenseur {E}")

    units = _units(b, "a")[:5] + _units(b, "b")[:5]
    energy = (("power", "ENERGY.Power"), ("energy", "ENERGY.Total"),
              ("voltage", "ENERGY.Voltage"), ("current", "ENERGY.Current"))
    for k, unit in enumerate(units):
        yield SimDevice(f"meter-{b}-{k}", "tasmota", "energy_meter", f"{b}_meter_{k}", b, unit,
                        f"Compteur électrique {k}, {bname}", points=energy)
    for floor in range(FLOORS):
        yield SimDevice(f"light-{b}-{floor}", "tasmota", "switch", f"{b}_light_{floor}", b,
                        f"{b}/a/{floor}", f"Éclairage palier A{floor}, {bname}",
                        points=(("state", "POWER"),))

    for k in range(5):
        yield SimDevice(f"pump-{b}-{k}", "shelly_gen2", "pump",
                        f"shellyplus1pm-{_hexid(f'{b}pump{k}')}", b, f"{b}/a/basement",
                        f"Pompe {k}, {bname}",
                        points=(("running", "switch:0.output"), ("power", "switch:0.apower")))
        yield SimDevice(f"relay-{b}-{k}", "shelly_gen2", "switch",
                        f"shellyplus1pm-{_hexid(f'{b}relay{k}')}", b, f"{b}/b/{k}",
                        f"Relais {k}, {bname}",
                        points=(("state", "switch:0.output"), ("power", "switch:0.apower"),
                                ("energy", "switch:0.aenergy.total")))

    for e in ENTRANCES:
        for floor in range(FLOORS):
            yield SimDevice(f"co2-{b}-{e}{floor}", "esphome", "co2_sensor",
                            f"co2-{b}-{e}{floor}", b, f"{b}/{e}/{floor}",
                            f"Qualité d'air palier {e.upper()}{floor}, {bname}",
                            points=(("co2", "sensor.co2"), ("temperature", "sensor.temperature"),
                                    ("humidity", "sensor.humidity")))
    for k in range(2):
        yield SimDevice(f"boiler-{b}-{k}", "esphome", "boiler", f"boiler-{b}-{k}", b,
                        f"{b}/a/basement", f"Chaudière {k + 1}, {bname}",
                        points=(("flow_temperature", "sensor.flow_temperature"),
                                ("return_temperature", "sensor.return_temperature"),
                                ("pressure", "sensor.pressure"), ("burner", "binary_sensor.burner"),
                                ("fault", "binary_sensor.fault"), ("setpoint", "number.setpoint")))
    for k in range(3):
        yield SimDevice(f"water-{b}-{k}", "esphome", "water_meter", f"water-{b}-{k}", b,
                        f"{b}/b/basement", f"Compteur d'eau {k + 1}, {bname}",
                        points=(("volume", "sensor.volume"), ("flow", "sensor.flow")))


def catalogue(buildings: int) -> Catalogue:
    """The devices of ``buildings`` buildings, in neighbourhoods of ten."""
    ids = building_ids(buildings)
    devices = [d for i, b in enumerate(ids) for d in _building_devices(i, b)]
    hoods = tuple((f"n{h:02d}", tuple(ids[h * 10:(h + 1) * 10]))
                  for h in range((buildings + 9) // 10))
    return Catalogue(tuple(ids), hoods, tuple(devices))


# --- YAML ------------------------------------------------------------------------------


def _site(cat: Catalogue) -> dict[str, Any]:
    entrance = {"floors": FLOORS, "units_per_floor": UNITS_PER_FLOOR, "basement": True}
    return {
        "city": {"id": "bench", "name": "Bench-sur-Seine"},
        "neighbourhoods": [
            {"id": hood, "name": f"Quartier {hood}", "buildings": [
                {"id": b, "name": _building_name(int(b[1:])),
                 "entrances": {e: dict(entrance) for e in ENTRANCES}}
                for b in members]}
            for hood, members in cat.neighbourhoods
        ],
    }


def _device_spec(d: SimDevice) -> dict[str, Any]:
    spec: dict[str, Any] = {"id": d.id, "source": d.source, "kind": d.kind, "place": d.place,
                            "name": d.name}
    if d.points:
        spec["points"] = {point: {"path": path} for point, path in d.points}
    return spec


def _bridges(cat: Catalogue) -> dict[str, dict[str, Any]]:
    files: dict[str, dict[str, Any]] = {}
    for family, bridge in (("esphome", {"id": "esphome", "format": "esphome"}),
                           ("shelly_gen2", {"id": "shelly", "format": "shelly_gen2"}),
                           ("tasmota", {"id": "tasmota", "format": "tasmota"})):
        files[f"{bridge['id']}.yaml"] = {
            "bridge": bridge,
            "devices": [_device_spec(d) for d in cat.devices if d.family == family],
        }
    for b in cat.buildings:
        files[f"z2m-{b}.yaml"] = {
            "bridge": {"id": f"z2m-{b}", "format": "zigbee2mqtt", "base_topic": f"z2m/{b}"},
            "devices": [_device_spec(d) for d in cat.devices
                        if d.family == "zigbee2mqtt" and d.building == b],
        }
    return files


def _text(fr: str, en: str) -> dict[str, str]:
    return {"fr": fr, "en": en}


def _base_rules() -> list[dict[str, Any]]:
    """Kind-wide rules, as an operator of many buildings writes them once for all."""
    def post(scope: str, title: dict[str, str], kind: str = "alert",
             reveal: str = "floor") -> dict[str, Any]:
        return {"scope": scope, "kind": kind, "reveal": reveal, "title": title}

    return [
        {"id": "water-leak", "when": {"kind": "water_leak_sensor", "point": "water_leak",
                                      "is": True},
         "severity": "critical",
         "raise": {"notify": "managers", "post": post(
             "building", _text("Fuite d'eau — {{ device.name }}", "Water leak — {{ device.name }}"),
             reveal="device")},
         "clear": {"when": {"is": False}, "for": "2m"}},
        {"id": "leaks-in-entrance", "when": {"at_least": 2, "within": "10m", "per": "entrance",
                                             "of": {"kind": "water_leak_sensor",
                                                    "point": "water_leak", "is": True}},
         "severity": "critical", "raise": {"notify": "managers"}},
        {"id": "smoke", "when": {"kind": "smoke_detector", "point": "smoke", "is": True},
         "severity": "critical",
         "raise": {"notify": "managers", "post": post(
             "building", _text("Fumée détectée — {{ device.place.name }}",
                               "Smoke detected — {{ device.place.name }}"))},
         "clear": {"when": {"is": False}, "for": "5m"}},
        {"id": "co2-high", "when": {"kind": "co2_sensor", "point": "co2", "above": 1500,
                                    "hysteresis": 100},
         "severity": "warning",
         "raise": {"notify": "managers", "post": post(
             "floor", _text("Air confiné ({{ value }} ppm)", "Stale air ({{ value }} ppm)"),
             kind="notice")},
         "clear": {"when": {"below": 1200}, "for": "5m"}},
        {"id": "boiler-pressure-low", "when": {"kind": "boiler", "point": "pressure",
                                               "below": 0.8},
         "severity": "major",
         "raise": {"notify": "managers", "post": post(
             "building", _text("Chauffage : pression basse", "Heating: low pressure"),
             kind="notice")},
         "clear": {"when": {"above": 1.0}, "for": "5m"}},
        {"id": "boiler-fault", "when": {"kind": "boiler", "point": "fault", "is": True},
         "for": "2m", "severity": "major", "raise": {"notify": "managers"}},
        {"id": "lift-fault", "when": {"kind": "lift_monitor", "point": "fault", "is": True},
         "for": "1m", "severity": "major",
         "raise": {"notify": "managers", "post": post(
             "entrance", _text("Ascenseur en panne", "Lift out of order"))},
         "clear": {"when": {"is": False}, "for": "30s"}},
        {"id": "pump-stopped", "when": {"kind": "pump", "point": "running", "is": False},
         "for": "10m", "severity": "minor", "raise": {"notify": "managers"}},
        {"id": "battery-low", "when": {"battery_low": True}, "severity": "info",
         "raise": {"notify": "managers"}},
        {"id": "smoke-offline", "when": {"kind": "smoke_detector", "offline_for": "6h"},
         "severity": "major", "raise": {"notify": "managers"}},
        {"id": "power-high", "when": {"kind": "energy_meter", "point": "power", "above": 9000},
         "for": "5m", "severity": "warning", "raise": {"notify": "managers"}},
        {"id": "water-flow-high", "when": {"kind": "water_meter", "point": "flow", "above": 30},
         "for": "15m", "severity": "warning", "raise": {"notify": "managers"}},
        {"id": "door-left-open", "when": {"kind": "door_sensor", "point": "contact",
                                          "is": False},
         "for": "30m", "severity": "info", "raise": {"notify": "managers"}},
    ]


def _place_rules(place: str) -> list[dict[str, Any]]:
    """Rules an installer writes per neighbourhood or building: thresholds that differ."""
    slug = place.replace("/", "-")
    return [
        {"id": f"hall-cold-{slug}", "when": {"kind": "temperature_sensor", "place": place,
                                             "point": "temperature", "below": 14,
                                             "hysteresis": 1},
         "for": "10m", "severity": "warning",
         "raise": {"notify": "managers", "post": {
             "scope": "entrance", "kind": "notice",
             "title": _text("Hall froid ({{ value | round(1) }} °C)",
                            "Cold hall ({{ value | round(1) }} °C)")}},
         "clear": {"when": {"above": 16}, "for": "5m"}},
        {"id": f"landing-hot-{slug}", "when": {"kind": "temperature_sensor", "place": place,
                                               "point": "temperature", "above": 28},
         "for": "30m", "severity": "info", "raise": {"notify": "managers"}},
        {"id": f"damp-{slug}", "when": {"kind": "temperature_sensor", "place": place,
                                        "point": "humidity", "above": 80},
         "for": "1h", "severity": "minor", "raise": {"notify": "managers"}},
        {"id": f"lift-door-{slug}", "when": {"kind": "lift_monitor", "place": place,
                                             "point": "door_open", "is": True},
         "for": "5m", "severity": "minor", "raise": {"notify": "managers"}},
    ]


def rules(cat: Catalogue, count: int) -> list[dict[str, Any]]:
    """Exactly ``count`` rules: the kind-wide ones, then per neighbourhood, per building and
    per entrance, as far as needed."""
    out = _base_rules()
    places = [hood for hood, _ in cat.neighbourhoods] + list(cat.buildings)
    places += [f"{b}/{e}" for b in cat.buildings for e in ENTRANCES]
    for place in places:
        if len(out) >= count:
            break
        out += _place_rules(place)
    if len(out) < count:
        raise ValueError(f"{len(cat.buildings)} buildings give at most {len(out)} rules")
    return out[:count]


def _members(cat: Catalogue) -> dict[str, Any]:
    """A resident of the latency buildings, their manager, and an installer (status API)."""
    return {"members": [
        {"username": RESIDENT, "display_name": "Résidente du banc", "password": PASSWORD,
         "memberships": [{"place": f"{b}/a/1/11", "role": "resident"}
                         for b in cat.latency_buildings]},
        {"username": MANAGER, "display_name": "Syndic du banc", "password": PASSWORD,
         "memberships": [{"place": b, "role": "manager"} for b in cat.buildings]},
        {"username": INSTALLER, "display_name": "Installateur du banc", "password": PASSWORD,
         "memberships": [{"place": cat.buildings[0], "role": "installer"}]},
    ]}


def _dump(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))


def write_installation(root: Path, cat: Catalogue, *, rule_count: int,
                       with_devices: bool = True) -> Path:
    """Write site.yaml, bridges/, rules/ and members.yaml under ``root``; return ``root``."""
    _dump(root / "site.yaml", _site(cat))
    if with_devices:
        for name, data in _bridges(cat).items():
            _dump(root / "bridges" / name, data)
        all_rules = rules(cat, rule_count)
        per_file = 10
        for start in range(0, len(all_rules), per_file):
            _dump(root / "rules" / f"rules-{start // per_file:02d}.yaml",
                  {"rules": all_rules[start:start + per_file]})
        _dump(root / "members.yaml", _members(cat))
    return root
