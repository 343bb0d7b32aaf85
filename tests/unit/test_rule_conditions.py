"""Every kind of condition through the engine, with an injected clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.records import Event, Reading
from devices.registry import DeviceRegistry
from devices.schema import BridgeFile
from rules.actions import ClearAlarm, RaiseAlarm
from rules.engine import RuleEngine
from rules.schema import RuleFile
from social.site import SiteFile, expand_site

SITE = SiteFile.model_validate({
    "city": {"id": "evry", "name": "Évry"},
    "neighbourhoods": [{"id": "pyramides", "buildings": [
        {"id": "lilas", "name": "Les Lilas", "entrances": {
            "a": {"floors": 4, "basement": True}, "b": {"floors": 4, "basement": True}}},
    ]}],
})
PLACES = {p.id: p for p in expand_site(SITE)}
BRIDGE = BridgeFile.model_validate({
    "bridge": {"id": "z2m", "format": "zigbee2mqtt"},
    "devices": [
        {"id": "leak-b1", "source": "l1", "kind": "water_leak_sensor", "place": "lilas/b/basement"},
        {"id": "leak-b2", "source": "l2", "kind": "water_leak_sensor", "place": "lilas/b/basement"},
        {"id": "leak-b3", "source": "l3", "kind": "water_leak_sensor", "place": "lilas/b/2/21"},
        {"id": "leak-a1", "source": "l4", "kind": "water_leak_sensor", "place": "lilas/a/basement"},
        {"id": "temp-b", "source": "t", "kind": "temperature_sensor", "place": "lilas/b/0"},
        {"id": "meter", "source": "m", "kind": "water_meter", "place": "lilas/b/basement"},
        {"id": "door", "source": "d", "kind": "intercom", "place": "lilas/b"},
    ],
})
ZONE = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=ZONE).timestamp()  # a Thursday


def engine_for(*rules: dict) -> RuleEngine:
    parsed = RuleFile.model_validate({"rules": list(rules)}).rules
    return RuleEngine(parsed, DeviceRegistry([BRIDGE]), PLACES)


def r(device: str, point: str, value: object, at: float) -> Reading:
    return Reading(device, point, value, T0 + at)


def kinds(actions: list) -> list[str]:
    return [type(a).__name__ for a in actions]


# -- hysteresis -------------------------------------------------------------------------

COLD = {"id": "cold", "when": {"device": "temp-b", "point": "temperature", "below": 14,
                               "hysteresis": 1}}


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.floats(min_value=-0.9, max_value=0.9), min_size=5, max_size=60))
def test_noise_around_the_threshold_never_flaps(noise: list[float]) -> None:
    """Once cold, a signal that wobbles less than the hysteresis never clears and re-raises."""
    engine = engine_for(COLD)
    actions = engine.on_reading(r("temp-b", "temperature", 13.0, 0))
    for i, delta in enumerate(noise, start=1):
        actions += engine.on_reading(r("temp-b", "temperature", 14.0 + delta, i))
    assert kinds(actions) == ["RaiseAlarm"]


def test_without_hysteresis_the_same_noise_would_flap() -> None:
    engine = engine_for({**COLD, "when": {**COLD["when"], "hysteresis": 0}})
    actions = []
    for i, value in enumerate([13.5, 14.2, 13.8, 14.1, 13.9]):
        actions += engine.on_reading(r("temp-b", "temperature", value, i))
    assert kinds(actions).count("RaiseAlarm") == 3


def test_hysteresis_clears_once_the_value_is_back_past_the_band() -> None:
    engine = engine_for(COLD)
    engine.on_reading(r("temp-b", "temperature", 13.0, 0))
    assert engine.on_reading(r("temp-b", "temperature", 14.9, 1)) == []
    assert kinds(engine.on_reading(r("temp-b", "temperature", 15.1, 2))) == ["ClearAlarm"]


# -- other point tests --------------------------------------------------------------------

def test_in_between_changed() -> None:
    e = engine_for({"id": "in", "when": {"device": "temp-b", "point": "temperature",
                                         "in": [20, 21]}})
    assert kinds(e.on_reading(r("temp-b", "temperature", 21, 0))) == ["RaiseAlarm"]
    e = engine_for({"id": "bt", "when": {"device": "temp-b", "point": "temperature",
                                         "between": [30, 40]}})
    assert e.on_reading(r("temp-b", "temperature", 29.9, 0)) == []
    assert kinds(e.on_reading(r("temp-b", "temperature", 30, 1))) == ["RaiseAlarm"]
    e = engine_for({"id": "ch", "when": {"device": "temp-b", "point": "temperature",
                                         "changed": True}})
    assert e.on_reading(r("temp-b", "temperature", 20, 0)) == [], "the first value is no change"
    assert e.on_reading(r("temp-b", "temperature", 20, 1)) == []
    assert kinds(e.on_reading(r("temp-b", "temperature", 21, 2))) == ["RaiseAlarm"]


def test_rate_of_change_per_hour() -> None:
    e = engine_for({"id": "burst", "when": {"device": "meter", "point": "volume",
                                            "rate": {"above": 1.0, "per": "1h"}}})
    assert e.on_reading(r("meter", "volume", 100.0, 0)) == []
    assert e.on_reading(r("meter", "volume", 100.1, 600)) == [], "0.6 m³/h is normal"
    assert kinds(e.on_reading(r("meter", "volume", 100.5, 1200))) == ["RaiseAlarm"]  # 2.4 m³/h


def test_missing_readings_raise_after_the_silence() -> None:
    e = engine_for({"id": "quiet", "when": {"device": "temp-b", "point": "temperature",
                                            "missing": "30m"}})
    e.on_reading(r("temp-b", "temperature", 20, 0))
    assert e.tick(T0 + 1799) == []
    raised = e.tick(T0 + 1800)
    assert kinds(raised) == ["RaiseAlarm"]
    assert raised[0].evidence[0].what == "no temperature reading"
    assert kinds(e.on_reading(r("temp-b", "temperature", 20, 1900))) == ["ClearAlarm"]


# -- devices and events -------------------------------------------------------------------

def test_offline_for_raises_after_the_duration_and_clears_when_back() -> None:
    e = engine_for({"id": "gone", "when": {"kind": "water_leak_sensor", "device": "leak-b1",
                                           "offline_for": "30m"}})
    assert e.on_availability("leak-b1", False, T0) == []
    assert e.tick(T0 + 1799) == []
    raised = e.tick(T0 + 1800)
    assert kinds(raised) == ["RaiseAlarm"] and raised[0].at == T0 + 1800
    assert kinds(e.on_availability("leak-b1", True, T0 + 2000)) == ["ClearAlarm"]


def test_battery_low_from_either_point() -> None:
    e = engine_for({"id": "batt", "when": {"device": "leak-b1", "battery_low": True,
                                           "below": 10}})
    assert e.on_reading(r("leak-b1", "battery", 40, 0)) == []
    assert kinds(e.on_reading(r("leak-b1", "battery", 8, 1))) == ["RaiseAlarm"]
    e = engine_for({"id": "batt", "when": {"device": "leak-b1", "battery_low": True}})
    assert kinds(e.on_reading(r("leak-b1", "battery_low", True, 0))) == ["RaiseAlarm"]


def test_an_intercom_event_raises_once_and_ends_by_itself() -> None:
    e = engine_for({"id": "parcel", "when": {"event": "parcel_delivered"},
                    "clear": {"after": "5m"}})
    event = Event("door", "parcel_delivered", {"locker": "12"}, T0)
    raised = e.on_event(event)
    assert kinds(raised) == ["RaiseAlarm"]
    assert raised[0].evidence[0].what == "event parcel_delivered (locker=12)"
    assert e.on_event(event) == [], "a redelivered event is the same episode"
    assert e.tick(T0 + 299) == []
    assert kinds(e.tick(T0 + 300)) == ["ClearAlarm"]


# -- across devices -----------------------------------------------------------------------

LEAKS = {"id": "flood", "when": {"at_least": 2, "within": "10m", "per": "entrance",
                                 "of": {"kind": "water_leak_sensor", "point": "water_leak",
                                        "is": True}}}


def test_two_leaks_in_one_entrance_are_one_incident() -> None:
    e = engine_for(LEAKS)
    assert e.on_reading(r("leak-b1", "water_leak", True, 0)) == []
    assert e.on_reading(r("leak-a1", "water_leak", True, 1)) == [], "another entrance"
    raised = e.on_reading(r("leak-b2", "water_leak", True, 2))
    assert kinds(raised) == ["RaiseAlarm"]
    assert raised[0].device_id == "place:lilas/b" and raised[0].place_id == "lilas/b"
    assert {ev.device_id for ev in raised[0].evidence} == {"leak-b1", "leak-b2"}
    assert e.on_reading(r("leak-b3", "water_leak", True, 3)) == [], "a third joins the incident"
    assert e.on_reading(r("leak-b1", "water_leak", False, 4)) == [], "two are still wet"
    cleared = e.on_reading(r("leak-b2", "water_leak", False, 5))
    assert cleared == [ClearAlarm("flood", "place:lilas/b", T0 + 5)], "fewer than two: it ends"


# -- time ---------------------------------------------------------------------------------

def test_during_schedule_holds_the_raise_until_the_window_opens() -> None:
    e = engine_for({"id": "night", "when": {"device": "temp-b", "point": "temperature",
                                            "below": 14},
                    "during": {"days": ["thu"], "from": "10:30", "to": "12:00"}})
    assert e.on_reading(r("temp-b", "temperature", 12, 0)) == []  # 10:00, outside
    assert kinds(e.tick(T0 + 1800)) == ["RaiseAlarm"]  # 10:30


def test_cooldown_blocks_a_re_raise() -> None:
    e = engine_for({"id": "leak", "when": {"device": "leak-b1", "point": "water_leak",
                                           "is": True}, "cooldown": "10m"})
    assert kinds(e.on_reading(r("leak-b1", "water_leak", True, 0))) == ["RaiseAlarm"]
    assert kinds(e.on_reading(r("leak-b1", "water_leak", False, 10))) == ["ClearAlarm"]
    assert e.on_reading(r("leak-b1", "water_leak", True, 20)) == []
    assert kinds(e.tick(T0 + 610)) == ["RaiseAlarm"], "still wet when the cooldown ends"


def test_a_restart_in_the_middle_of_a_for_still_raises_on_time() -> None:
    rule = {"id": "leak", "when": {"device": "leak-b1", "point": "water_leak", "is": True},
            "for": "5m"}
    before = engine_for(rule)
    before.on_reading(r("leak-b1", "water_leak", True, 0))
    saved = {(c.rule_id, c.subject): c.state for c in before.take_state_changes() if c.state}
    after = engine_for(rule)  # a new process
    after.load_states(saved)
    assert after.tick(T0 + 299) == []
    raised = after.tick(T0 + 300)
    assert kinds(raised) == ["RaiseAlarm"] and raised[0].at == T0


def test_state_changes_are_reported_and_idle_states_forgotten() -> None:
    e = engine_for({"id": "leak", "when": {"device": "leak-b1", "point": "water_leak",
                                           "is": True}})
    e.on_reading(r("leak-b1", "water_leak", True, 0))
    [change] = e.take_state_changes()
    assert change.state is not None and change.state["active"] is True
    assert e.take_state_changes() == []


# -- what residents are told ----------------------------------------------------------------

def test_a_resident_post_reveals_the_floor_not_the_unit() -> None:
    e = engine_for({"id": "leak", "when": {"device": "leak-b3", "point": "water_leak",
                                           "is": True},
                    "raise": {"post": {"scope": "building",
                                       "title": "Fuite — {{ device.place.name }}"}}})
    raised = e.on_reading(r("leak-b3", "water_leak", True, 0))[0]
    assert isinstance(raised, RaiseAlarm)
    assert raised.post.title["fr"] == "Fuite — Les Lilas, Entrée B, 2e étage"
    assert "21" not in raised.post.title["fr"]
    assert raised.title["fr"] == "Fuite — Les Lilas, Entrée B, appartement 21", (
        "managers see where exactly")


def test_notice_help_request_escalation_and_texts_for_later() -> None:
    e = engine_for({
        "id": "lift", "when": {"device": "temp-b", "point": "temperature", "below": 5},
        "severity": "critical",
        "raise": {"notice": {"unit": "lilas/b/3/31", "title": "Colis"},
                  "help_request": {"scope": "entrance", "title": "Aide"}},
        "acknowledge": {"post_update": "{{ note }} ({{ by }})"},
        "clear": {"when": {"above": 10}, "post_update": "Fini après {{ duration }}"},
        "escalate": [{"after": "15m", "notify": "on_call"}],
    })
    raised = e.on_reading(r("temp-b", "temperature", 3, 0))[0]
    assert raised.notice.unit_id == "lilas/b/3/31"
    assert raised.help_request.place_id == "lilas/b" and raised.help_request.kind == "help_request"
    assert raised.escalation[0].after == 900 and raised.escalation[0].notify == "on_call"
    assert raised.acknowledge_text["fr"] == "{{ note }} ({{ by }})"
    assert raised.clear_text["en"] == "Fini après {{ duration }}"
    assert raised.quiet_hours_apply is False, "critical overrides quiet hours"
    assert e.on_reading(r("temp-b", "temperature", 9, 1)) == []
    assert isinstance(e.on_reading(r("temp-b", "temperature", 11, 2))[0], ClearAlarm)


@pytest.mark.parametrize("first", [True, False])
def test_a_duplicate_or_reordered_reading_never_raises_twice(first: bool) -> None:
    e = engine_for({"id": "leak", "when": {"device": "leak-b1", "point": "water_leak",
                                           "is": True}})
    actions = e.on_reading(r("leak-b1", "water_leak", True, 1))
    actions += e.on_reading(r("leak-b1", "water_leak", True, 0 if first else 1))
    assert kinds(actions) == ["RaiseAlarm"]


def test_templates_get_the_reading_itself_and_later_texts_stay_inert() -> None:
    e = engine_for({"id": "cold", "when": {"device": "temp-b", "point": "temperature",
                                           "below": 14},
                    "name": "Froid : {{ value | round(1) }} °C",
                    "clear": {"when": {"above": 15},
                              "post_update": "{{ value }} — {{ duration }}"}})
    raised = e.on_reading(r("temp-b", "temperature", 12.34, 0))[0]
    assert raised.title["fr"] == "Froid : 12.3 °C"
    assert raised.clear_text["fr"] == "12.34 — {{ duration }}"


def test_a_parcel_notice_goes_to_the_unit_named_by_the_event() -> None:
    e = engine_for({"id": "parcel", "when": {"event": "parcel_delivered"},
                    "raise": {"notify": "none", "notice": {
                        "unit": "lilas/b/{{ event.data.floor }}/{{ event.data.flat }}",
                        "title": {"fr": "Un colis vous attend", "en": "A parcel is waiting"}}}})
    raised = e.on_event(Event("door", "parcel_delivered", {"floor": 3, "flat": "31"}, T0))[0]
    assert raised.notice is not None and raised.notice.unit_id == "lilas/b/3/31"
    assert raised.notice.title["en"] == "A parcel is waiting"
