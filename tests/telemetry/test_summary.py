"""Building summaries from counters and thermometers, and what residents may see of them.

Runs on both backends against the installation in ``tests/telemetry/installation``:
Les Lilas has common-area meters and the meters of three flats (a11, a12, b31).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from devices.records import Reading
from devices.registry import DeviceRegistry
from gateway.config.installation import Installation
from gateway.config.loader import load_installation
from gateway.telemetry.store import TelemetryStore
from gateway.telemetry.summary import (
    MIN_UNITS,
    Figures,
    Metered,
    Metric,
    Period,
    PeriodKind,
    building_devices,
    counter_days,
    manager_view,
    measure,
    period_of,
    public_view,
)
from tests.telemetry.conftest import Clock

PARIS = ZoneInfo("Europe/Paris")
INSTALLATION = Path(__file__).parent / "installation"


def at(day: date, hour: float) -> float:
    """Epoch seconds of ``hour`` hours after local midnight of ``day`` (real elapsed time)."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=PARIS).timestamp()
    return midnight + hour * 3600


def write(store: TelemetryStore, clock: Clock, rows: Iterable[Reading]) -> None:
    """Write in time order, each batch while it is fresh, as the gateway would have."""
    ordered = sorted(rows, key=lambda r: r.at)
    for i in range(0, len(ordered), 500):
        batch = ordered[i:i + 500]
        clock.now = batch[0].at
        store.write_batch(batch)


def counter(device: str, point: str, start: float, end: float, per_hour: float,
            base: float = 1000.0, step: float = 900) -> list[Reading]:
    """A counter read every ``step`` seconds, rising ``per_hour`` an hour."""
    out, ts = [], start
    while ts < end:
        out.append(Reading(device, point, base + (ts - start) / 3600 * per_hour, ts))
        ts += step
    return out


@pytest.fixture(scope="module")
def installation() -> Installation:
    return load_installation(INSTALLATION)


def test_a_day_is_the_last_value_minus_the_last_before_midnight(store: TelemetryStore,
                                                                clock: Clock) -> None:
    d8, d9 = date(2026, 3, 8), date(2026, 3, 9)
    write(store, clock, counter("elec", "energy", at(d8, 7 / 60), at(d9, 24), per_hour=0.5))
    month = period_of("month", d8, PARIS)
    used = counter_days(store, "elec", "energy", month)
    # 8 March has no earlier reading: from its first (00:07) to its last (23:52).
    assert used[d8] == pytest.approx(23.75 * 0.5)
    # 9 March: from 8 March 23:52 to 9 March 23:52, nothing lost at midnight.
    assert used[d9] == pytest.approx(12.0)
    assert set(used) == {d8, d9}
    assert counter_days(store, "elec", "energy", period_of("day", d9, PARIS)) == {
        d9: pytest.approx(12.0)}


def test_a_counter_that_goes_back_restarts_from_its_new_value(store: TelemetryStore,
                                                              clock: Clock) -> None:
    d = date(2026, 3, 9)
    before = counter("elec", "energy", at(d, 0.25), at(d, 10), per_hour=1.0)  # 1000 → ~1009.75
    after = counter("elec", "energy", at(d, 12), at(d, 15), per_hour=1.0, base=0.0)  # a new meter
    write(store, clock, before + after)
    used = counter_days(store, "elec", "energy", period_of("day", d, PARIS))
    assert used[d] == pytest.approx(9.5 + 2.75)


def test_a_summer_time_day_has_23_hours_and_an_autumn_one_25(store: TelemetryStore,
                                                              clock: Clock) -> None:
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    for day in (spring, autumn):
        write(store, clock, counter("elec", "energy", at(day, -0.5), at(day, 26), per_hour=1.0,
                                    step=3600))
    assert counter_days(store, "elec", "energy", period_of("day", spring, PARIS))[spring] == 23
    assert counter_days(store, "elec", "energy", period_of("day", autumn, PARIS))[autumn] == 25


def test_devices_are_sorted_by_what_they_measure(installation: Installation) -> None:
    devices = building_devices(installation, DeviceRegistry(installation.bridges), "lilas")
    assert [d.device_id for d in devices["energy"]] == [
        "elec-lilas-communs", "elec-lilas-a11", "elec-lilas-a12", "elec-lilas-b31"]
    assert [d.device_id for d in devices["water"]] == ["eau-lilas-general", "eau-lilas-b31"]
    assert [d.device_id for d in devices["temperature"]] == [
        "temp-lilas-hall-a", "temp-lilas-cave-b", "temp-lilas-b31"]
    assert devices["energy"][0].unit_id is None
    assert devices["energy"][3] == Metered("elec-lilas-b31", "lilas/b/3/31", "lilas/b/3/31")


D1, D2, D3 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)
#: kWh an hour: the common areas and each flat.
RATES = {"elec-lilas-communs": 2.0, "elec-lilas-a11": 0.5, "elec-lilas-a12": 0.25,
         "elec-lilas-b31": 0.125, "elec-tilleuls-communs": 9.0}


def fill_building(store: TelemetryStore, clock: Clock) -> None:
    """Hourly counters from 1 March 23:00 to 4 March 23:00; flat a12 is silent on 3 March.

    Each counter reads ``rate × hours since the epoch``, so a day with readings on
    both sides of it used exactly ``24 × rate``.
    """
    rows: list[Reading] = []
    for device, rate in RATES.items():
        rows += [r for r in counter(device, "energy", at(D1, -1), at(D3, 23.5), per_hour=rate,
                                    base=at(D1, -1) / 3600 * rate, step=3600)
                 if not (device == "elec-lilas-a12" and at(D2, 0) <= r.at < at(D3, 0))]
    rows += counter("eau-lilas-general", "volume", at(D1, -1), at(D3, 23.5), 0.1, step=3600)
    rows += counter("eau-lilas-b31", "volume", at(D1, -1), at(D3, 23.5), 0.01, step=3600)
    for day, (hall, cave, flat) in zip((D1, D2, D3), ((18.5, 11.0, 12.0), (19.0, 12.5, 26.0),
                                                       (21.0, 13.0, 20.0)), strict=True):
        for hour, delta in ((3, -1.0), (15, 1.0)):
            rows += [Reading("temp-lilas-hall-a", "temperature", hall + delta, at(day, hour)),
                     Reading("temp-lilas-cave-b", "temperature", cave + delta, at(day, hour)),
                     Reading("temp-lilas-b31", "temperature", flat + delta, at(day, hour))]
    write(store, clock, rows)


Measured = tuple[dict[Metric, list[Metered]], Figures, Period]
FiguresFor = Callable[..., Measured]


@pytest.fixture
def figures(store: TelemetryStore, clock: Clock,
            installation: Installation) -> FiguresFor:
    """``figures(day, kind="month")``: the building's devices, their figures, the period."""
    fill_building(store, clock)
    devices = building_devices(installation, DeviceRegistry(installation.bridges), "lilas")

    def for_period(day: date, kind: PeriodKind = "month") -> Measured:
        period = period_of(kind, day, PARIS)
        return devices, measure(store, devices, period), period

    return for_period


def test_the_manager_sees_every_meter_and_the_building_totals(figures: FiguresFor) -> None:
    devices, found, period = figures(D2, "day")
    body = manager_view(devices, found, period, PARIS, now=at(D3, 30))
    energy = {d["device"]: d["total"] for d in body["energy"]["devices"]}
    assert energy == {"elec-lilas-communs": 48.0, "elec-lilas-a11": 12.0,
                      "elec-lilas-a12": None, "elec-lilas-b31": 3.0}
    assert body["energy"]["total"] == 63.0 and body["energy"]["unit"] == "kWh"
    assert body["water"]["total"] == pytest.approx(24 * 0.11)
    sensors = {s["device"]: (s["min"], s["max"]) for s in body["temperature"]["sensors"]}
    assert sensors == {"temp-lilas-hall-a": (18.0, 20.0), "temp-lilas-cave-b": (11.5, 13.5),
                       "temp-lilas-b31": (25.0, 27.0)}
    assert (body["temperature"]["min"], body["temperature"]["max"]) == (11.5, 27.0)
    assert (body["period"], body["date"], body["from"], body["to"]) == (
        "day", "2026-03-03", "2026-03-03T00:00:00+01:00", "2026-03-04T00:00:00+01:00")
    assert "days" not in body


def test_a_month_is_the_sum_of_its_days(figures: FiguresFor) -> None:
    devices, found, period = figures(D1)
    body = manager_view(devices, found, period, PARIS, now=at(D3, 12))
    days = {d["date"]: d["energy"] for d in body["days"]}
    # 1 March: one reading at 23:00, nothing used yet. 4 March: a12 reports again, and
    # what it counted while silent is counted then, as a meter read by hand.
    assert days == {"2026-03-01": 0.0, "2026-03-02": 48 + 12 + 6 + 3.0,
                    "2026-03-03": 63.0, "2026-03-04": 48 + 12 + 12 + 3.0}
    assert body["energy"]["total"] == 69 + 63 + 75.0


def test_residents_see_only_shared_metrics_and_never_a_device(figures: FiguresFor) -> None:
    devices, found, period = figures(D2, "day")
    body = public_view(devices, found, period, PARIS, now=at(D3, 12), shared={"energy"})
    assert set(body) == {"period", "date", "time_zone", "from", "to", "complete",
                         "days_counted", "energy"}
    assert "elec-" not in json.dumps(body) and "lilas/" not in json.dumps(body)


def test_flats_count_in_a_shared_total_only_when_three_report(figures: FiguresFor) -> None:
    shared = {"energy"}
    all_three = public_view(*figures(D3, "day"), PARIS, at(D3, 30), shared)
    assert all_three["energy"] == {"unit": "kWh", "total": 75.0, "includes_units": True}
    two = public_view(*figures(D2, "day"), PARIS, at(D3, 30), shared)
    # a12 was silent: a11 and b31 alone would be two flats, so only the common areas count.
    assert two["energy"] == {"unit": "kWh", "total": 48.0, "includes_units": False}
    assert MIN_UNITS == 3


def test_a_public_month_adds_its_public_days_so_differences_reveal_nothing(
        figures: FiguresFor) -> None:
    now = at(D3, 30)
    public_month = public_view(*figures(D1), PARIS, now, {"energy", "water"})
    days = [public_view(*figures(day, "day"), PARIS, now, {"energy", "water"})
            for day in (D1, D2, D3)]
    assert public_month["energy"]["total"] == sum(d["energy"]["total"] for d in days) == 192.0
    # Water: one flat meter only, never enough flats, so only the building's main meter.
    assert public_month["water"] == {"unit": "m³", "total": pytest.approx(72 * 0.1),
                                     "includes_units": False}
    assert (public_month["complete"], public_month["days_counted"]) == (False, 4)


def test_only_finished_days_are_counted(figures: FiguresFor) -> None:
    devices, found, month = figures(D1)
    body = public_view(devices, found, month, PARIS, now=at(D3, 12), shared={"energy"})
    assert body["days_counted"] == 3  # 1, 2 and 3 March; the 4th is not over
    assert body["energy"]["total"] == 0 + 69 + 48.0


def test_public_temperatures_come_from_common_areas_only(figures: FiguresFor) -> None:
    devices, found, _ = figures(D1)
    body = public_view(devices, found, period_of("day", D2, PARIS), PARIS, at(D3, 30),
                       {"temperature"})
    # Flat b31 read 25 to 27 °C that day: a maximum would be that flat's own reading.
    assert body["temperature"] == {"unit": "°C", "min": 11.5, "max": 20.0}


def test_nothing_measured_is_null_not_zero() -> None:
    devices: dict[Metric, list[Metered]] = {
        "energy": [Metered("m", "lilas/b/basement", None)], "water": [], "temperature": []}
    found = Figures(counters={"energy": {"m": {}}, "water": {}}, extremes={})
    period = period_of("day", D1, PARIS)
    body = manager_view(devices, found, period, PARIS, at(D2, 0))
    assert body["energy"]["total"] is None and body["water"]["total"] is None
    assert public_view(devices, found, period, PARIS, at(D2, 0), {"energy"})["energy"][
        "total"] is None


def test_a_month_holds_every_day_of_it() -> None:
    feb = period_of("month", date(2028, 2, 14), PARIS)
    assert (feb.first, len(feb.days), feb.days[-1].date) == (date(2028, 2, 1), 29,
                                                             date(2028, 2, 29))
    assert feb.days[0].end == feb.days[1].start
    march = period_of("month", date(2026, 3, 31), PARIS)
    assert (march.end - march.start) == 31 * 86400 - 3600  # summer time takes an hour
    assert march.days[-1].date == date(2026, 3, 31)
    assert period_of("month", date(2026, 12, 5), PARIS).days[-1].date == date(2026, 12, 31)
    assert timedelta(seconds=period_of("day", D1, PARIS).end - at(D1, 0)) == timedelta(days=1)
