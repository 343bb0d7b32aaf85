"""Building summaries: energy and water used, temperature extremes, per day and per month.

Everything here is read from the 1-hour roll-ups, which are kept five years, so a
summary of a past month costs a few hundred rows per meter. Days are the site's
days (Europe/Paris): local midnights fall on whole UTC hours, so hourly buckets
never straddle two days, summer time included (a day has 23 or 25 buckets).

**What is counted.**

* Energy: the ``energy`` counter (kWh) of every ``energy_meter``. Power readings
  are *not* integrated into energy: sampled power gives a guess, and a guess
  added to metered kWh would make a total nobody can check. A meter without
  counter readings in a period has no total (``null``) there.
* Water: the ``volume`` counter (m³) of every ``water_meter``.
* Temperatures: every device with a ``temperature`` point (thermometers, CO₂
  sensors, leak sensors): the minimum and maximum reading of each, and of them all.

**How a counter becomes a consumption.** A period's consumption is the counter's
last value in the period minus its last value *before* the period (the first
value in the period when there is none), so the days of a month add up exactly to
the month and nothing is lost at midnight. What a meter counted while silent is
attributed to the period in which it reports again, as when reading a meter by
hand. A counter that goes back (a meter replaced or reset) restarts from its new
value; what it counted in that hour before the reset is not seen.

**What residents see** (:func:`public_view`): only the metrics the building's
managers chose to share, as building totals, never a device. Devices placed in a
unit (a flat's own meter) count in a shared total only on days when at least
:data:`MIN_UNITS` different units report — otherwise that day's total is the
common areas' alone. Each day decides for itself and a month is the sum of its
days, so comparing a month with its days reveals nothing more; and only finished
days are shown, so reading the same total twice an hour apart cannot isolate what
one flat used in between. Temperature extremes come from common-area sensors
only: a minimum or a maximum is always one sensor's reading, so no number of flats
makes a flat's extreme anonymous.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from devices.records import Device
from gateway.config.installation import Installation
from gateway.telemetry.store import TelemetryStore

Metric = Literal["energy", "water", "temperature"]
METRICS: tuple[Metric, ...] = ("energy", "water", "temperature")
PeriodKind = Literal["day", "month"]
#: Counted metrics: the device kind, its counter point and the counter's unit.
COUNTERS: dict[Metric, tuple[str, str, str]] = {
    "energy": ("energy_meter", "energy", "kWh"),
    "water": ("water_meter", "volume", "m³"),
}
TEMPERATURE_POINT = "temperature"
#: Unit-placed devices join a shared total only when at least this many units report.
MIN_UNITS = 3


@dataclass(frozen=True, slots=True)
class Day:
    """One of the site's days, as the epoch-seconds range ``[start, end)``."""

    date: date
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Period:
    kind: PeriodKind
    first: date
    days: tuple[Day, ...]

    @property
    def start(self) -> float:
        return self.days[0].start

    @property
    def end(self) -> float:
        return self.days[-1].end


def _midnight(day: date, zone: ZoneInfo) -> float:
    return datetime.combine(day, time(), tzinfo=zone).timestamp()


def period_of(kind: PeriodKind, day: date, zone: ZoneInfo) -> Period:
    """The day ``day``, or the month that holds it, in the site's time zone."""
    if kind == "day":
        dates = [day]
    else:
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        dates = [first + timedelta(days=n) for n in range((following - first).days)]
    days = tuple(Day(d, _midnight(d, zone), _midnight(d + timedelta(days=1), zone))
                 for d in dates)
    return Period(kind, dates[0], days)


@dataclass(frozen=True, slots=True)
class Metered:
    """A device a summary reads, and the unit (flat) it sits in, if any."""

    device_id: str
    place_id: str
    unit_id: str | None


def building_devices(
    installation: Installation, devices: Iterable[Device], building_id: str
) -> dict[Metric, list[Metered]]:
    """The building's devices that feed each metric, in configuration order."""
    found: dict[Metric, list[Metered]] = {metric: [] for metric in METRICS}
    for device in devices:
        if installation.building_of(device.place_id) != building_id:
            continue
        metered = Metered(device.id, device.place_id,
                          installation.ancestor(device.place_id, "unit"))
        for metric, (kind, point, _unit) in COUNTERS.items():
            if device.kind == kind and device.point(point) is not None:
                found[metric].append(metered)
        if device.point(TEMPERATURE_POINT) is not None:
            found["temperature"].append(metered)
    return found


@dataclass
class Figures:
    """What the store holds for a period: per device, per day.

    ``counters[metric][device][day]`` is a consumption; ``extremes[device][day]`` a
    ``(min, max)``. A day without readings is absent, never zero.
    """

    counters: dict[Metric, dict[str, dict[date, float]]] = field(default_factory=dict)
    extremes: dict[str, dict[date, tuple[float, float]]] = field(default_factory=dict)


def _day_index(period: Period) -> tuple[list[float], list[date]]:
    return [d.start for d in period.days], [d.date for d in period.days]


def counter_days(store: TelemetryStore, device_id: str, point: str,
                 period: Period) -> dict[date, float]:
    """A counter's consumption on each day of ``period`` that has readings."""
    rows = store.hours(device_id, point, period.start, period.end)
    if not rows:
        return {}
    before = store.hour_before(device_id, point, period.start)
    previous = before.last if before is not None else None
    starts, dates = _day_index(period)
    used: dict[date, float] = {}
    for row in rows:
        if previous is None:
            delta = row.last - row.min
        elif row.last >= previous:
            delta = row.last - previous
        else:  # the counter went back: a new meter, or a reset
            delta = max(0.0, row.last - row.min)
        day = dates[bisect_right(starts, row.bucket) - 1]
        used[day] = used.get(day, 0.0) + delta
        previous = row.last
    return used


def extreme_days(store: TelemetryStore, device_id: str,
                 period: Period) -> dict[date, tuple[float, float]]:
    """A sensor's lowest and highest temperature on each day of ``period``."""
    starts, dates = _day_index(period)
    found: dict[date, tuple[float, float]] = {}
    for row in store.hours(device_id, TEMPERATURE_POINT, period.start, period.end):
        day = dates[bisect_right(starts, row.bucket) - 1]
        low, high = found.get(day, (row.min, row.max))
        found[day] = (min(low, row.min), max(high, row.max))
    return found


def measure(store: TelemetryStore, devices: dict[Metric, list[Metered]],
            period: Period) -> Figures:
    figures = Figures()
    for metric, (_kind, point, _unit) in COUNTERS.items():
        figures.counters[metric] = {
            d.device_id: counter_days(store, d.device_id, point, period) for d in devices[metric]}
    figures.extremes = {d.device_id: extreme_days(store, d.device_id, period)
                        for d in devices["temperature"]}
    return figures


def _amount(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _sum(values: Sequence[float]) -> float | None:
    return _amount(sum(values)) if values else None


def _span(pairs: Sequence[tuple[float, float]]) -> tuple[float | None, float | None]:
    if not pairs:
        return None, None
    return min(p[0] for p in pairs), max(p[1] for p in pairs)


def _frame(period: Period, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "period": period.kind,
        "date": period.first.isoformat(),
        "time_zone": zone.key,
        "from": datetime.fromtimestamp(period.start, zone).isoformat(),
        "to": datetime.fromtimestamp(period.end, zone).isoformat(),
    }


def manager_view(devices: dict[Metric, list[Metered]], figures: Figures, period: Period,
                 zone: ZoneInfo, now: float) -> dict[str, Any]:
    """Everything, device by device: for the building's managers and installers."""
    body = _frame(period, zone)
    for metric, (_kind, _point, unit) in COUNTERS.items():
        per_device = figures.counters[metric]
        totals = {d.device_id: _sum(list(per_device[d.device_id].values()))
                  for d in devices[metric]}
        body[metric] = {
            "unit": unit,
            "total": _sum([t for t in totals.values() if t is not None]),
            "devices": [{"device": d.device_id, "place": d.place_id, "unit_place": d.unit_id,
                         "total": totals[d.device_id]} for d in devices[metric]],
        }
    spans = {d.device_id: _span(list(figures.extremes[d.device_id].values()))
             for d in devices["temperature"]}
    sensors = [{"device": d.device_id, "place": d.place_id, "unit_place": d.unit_id,
                "min": spans[d.device_id][0], "max": spans[d.device_id][1]}
               for d in devices["temperature"]]
    low, high = _span([(lo, hi) for lo, hi in spans.values() if lo is not None and hi is not None])
    body["temperature"] = {"unit": "°C", "min": low, "max": high, "sensors": sensors}
    if period.kind == "month":
        body["days"] = [_manager_day(devices, figures, day) for day in period.days
                        if day.start < now]
    return body


def _manager_day(devices: dict[Metric, list[Metered]], figures: Figures,
                 day: Day) -> dict[str, Any]:
    entry: dict[str, Any] = {"date": day.date.isoformat()}
    for metric in COUNTERS:
        per_device = figures.counters[metric]
        entry[metric] = _sum([per_device[d.device_id][day.date] for d in devices[metric]
                              if day.date in per_device[d.device_id]])
    low, high = _span([figures.extremes[d.device_id][day.date] for d in devices["temperature"]
                       if day.date in figures.extremes[d.device_id]])
    entry["temperature"] = {"min": low, "max": high}
    return entry


def public_view(devices: dict[Metric, list[Metered]], figures: Figures, period: Period,
                zone: ZoneInfo, now: float, shared: Iterable[str]) -> dict[str, Any]:
    """Building totals of the shared metrics over the finished days; never a device.

    The rules that keep a flat's readings private are in the module docstring.
    """
    finished = [day for day in period.days if day.end <= now]
    body = _frame(period, zone)
    body["complete"] = len(finished) == len(period.days)
    body["days_counted"] = len(finished)
    wanted = set(shared)
    for metric in COUNTERS:
        if metric in wanted:
            body[metric] = _public_total(metric, devices[metric], figures, finished)
    if "temperature" in wanted:
        common = [d for d in devices["temperature"] if d.unit_id is None]
        low, high = _span([figures.extremes[d.device_id][day.date] for d in common
                           for day in finished if day.date in figures.extremes[d.device_id]])
        body["temperature"] = {"unit": "°C", "min": low, "max": high}
    return body


def _public_total(metric: Metric, metered: list[Metered], figures: Figures,
                  days: list[Day]) -> dict[str, Any]:
    per_device = figures.counters[metric]
    amounts: list[float] = []
    units_included = False
    for day in days:
        reporting = [d for d in metered if day.date in per_device[d.device_id]]
        units = {d.unit_id for d in reporting if d.unit_id is not None}
        with_units = len(units) >= MIN_UNITS
        units_included = units_included or with_units
        amounts += [per_device[d.device_id][day.date] for d in reporting
                    if d.unit_id is None or with_units]
    return {"unit": COUNTERS[metric][2], "total": _sum(amounts), "includes_units": units_included}
