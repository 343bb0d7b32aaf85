"""The rule state machine with an injected clock: raise after ``for``, clear after its own."""

from __future__ import annotations

import pytest

from devices.records import Reading
from devices.registry import DeviceRegistry
from devices.schema import BridgeFile
from rules.actions import ClearAlarm, RaiseAlarm
from rules.engine import RuleEngine
from rules.schema import RuleFile
from social.site import SiteFile, expand_site

SITE = SiteFile.model_validate(
    {
        "city": {"id": "evry", "name": "Évry-Courcouronnes"},
        "neighbourhoods": [
            {
                "id": "pyramides",
                "buildings": [
                    {
                        "id": "lilas",
                        "name": "Les Lilas",
                        "entrances": {"b": {"floors": 4, "basement": True}},
                    },
                ],
            }
        ],
    }
)
PLACES = {p.id: p for p in expand_site(SITE)}
BRIDGE = BridgeFile.model_validate(
    {
        "bridge": {"id": "z2m", "format": "zigbee2mqtt"},
        "devices": [
            {
                "id": "leak-b",
                "source": "leak_cave_b",
                "kind": "water_leak_sensor",
                "place": "lilas/b/basement",
            },
            {
                "id": "temp-b",
                "source": "temp_hall_b",
                "kind": "temperature_sensor",
                "place": "lilas/b/0",
            },
        ],
    }
)


def engine_for(rules: list[dict]) -> RuleEngine:
    parsed = RuleFile.model_validate({"rules": rules}).rules
    return RuleEngine(parsed, DeviceRegistry([BRIDGE]), PLACES)


LEAK_RULE = {
    "id": "water-leak",
    "when": {"kind": "water_leak_sensor", "point": "water_leak", "is": True},
    "for": "30s",
    "severity": "critical",
    "raise": {
        "post": {
            "scope": "building",
            "title": {
                "fr": "Fuite d'eau — {{ device.place.name }}",
                "en": "Water leak — {{ device.place.name }}",
            },
        }
    },
    "clear": {"when": {"is": False}, "for": "2m"},
}


def leak(value: bool, at: float) -> Reading:
    return Reading("leak-b", "water_leak", value, at)


def test_raises_only_after_the_condition_held_for_its_duration() -> None:
    engine = engine_for([LEAK_RULE])
    assert engine.on_reading(leak(True, 1000.0)) == []
    assert engine.tick(1029.9) == []
    actions = engine.tick(1030.0)
    assert len(actions) == 1
    alarm = actions[0]
    assert isinstance(alarm, RaiseAlarm)
    assert (alarm.rule_id, alarm.device_id, alarm.severity) == ("water-leak", "leak-b", "critical")
    assert alarm.at == 1000.0, "the alarm dates from when the leak began"
    assert alarm.building_id == "lilas"
    assert alarm.post is not None and alarm.post.place_id == "lilas"
    assert alarm.post.title["fr"] == "Fuite d'eau — Les Lilas, Entrée B, sous-sol"
    assert alarm.post.title["en"] == "Water leak — Les Lilas, Entrée B, sous-sol"


def test_no_raise_when_the_condition_ends_before_its_duration() -> None:
    engine = engine_for([LEAK_RULE])
    engine.on_reading(leak(True, 1000.0))
    assert engine.on_reading(leak(False, 1010.0)) == []
    assert engine.tick(1100.0) == []
    assert not engine.is_active("water-leak", "leak-b")


def test_clears_after_the_clear_condition_held_for_its_duration() -> None:
    engine = engine_for([LEAK_RULE])
    engine.on_reading(leak(True, 1000.0))
    engine.tick(1030.0)
    assert engine.on_reading(leak(False, 1200.0)) == []
    assert engine.tick(1319.0) == []
    # a wet reading during the clear delay restarts it
    engine.on_reading(leak(True, 1250.0))
    assert engine.tick(1330.0) == []
    engine.on_reading(leak(False, 1400.0))
    actions = engine.tick(1520.0)
    assert actions == [ClearAlarm("water-leak", "leak-b", 1400.0)]
    assert not engine.is_active("water-leak", "leak-b")


def test_a_duplicate_message_never_raises_twice() -> None:
    engine = engine_for([{**LEAK_RULE, "for": "0s"}])
    first = engine.on_reading(leak(True, 1000.0))
    assert [type(a) for a in first] == [RaiseAlarm]
    assert engine.on_reading(leak(True, 1000.0)) == []
    assert engine.on_reading(leak(True, 1001.0)) == []
    assert engine.tick(5000.0) == []


def test_a_zero_duration_rule_raises_on_the_reading_itself() -> None:
    engine = engine_for([{**LEAK_RULE, "for": 0}])
    assert [type(a) for a in engine.on_reading(leak(True, 1.0))] == [RaiseAlarm]


@pytest.mark.parametrize(
    ("condition", "values", "raises"),
    [
        ({"above": 30}, [31.0], True),
        ({"above": 30}, [30.0], False),
        ({"below": 14}, [13.5], True),
        ({"below": 14}, [14.0], False),
        ({"below": 14}, [True], False),  # a boolean is not a number
    ],
)
def test_threshold_conditions(condition: dict, values: list, raises: bool) -> None:
    engine = engine_for(
        [
            {
                "id": "cold",
                "when": {"kind": "temperature_sensor", "point": "temperature", **condition},
            }
        ]
    )
    actions = []
    for i, value in enumerate(values):
        actions += engine.on_reading(Reading("temp-b", "temperature", value, float(i)))
    assert bool(actions) is raises


def test_without_clear_the_condition_turning_false_clears() -> None:
    engine = engine_for(
        [
            {
                "id": "cold",
                "when": {"kind": "temperature_sensor", "point": "temperature", "below": 14},
            }
        ]
    )
    engine.on_reading(Reading("temp-b", "temperature", 12.0, 0.0))
    assert engine.on_reading(Reading("temp-b", "temperature", 13.0, 1.0)) == []
    assert engine.on_reading(Reading("temp-b", "temperature", 15.0, 2.0)) == [
        ClearAlarm("cold", "temp-b", 2.0)
    ]


def test_restored_alarms_clear_without_raising_again() -> None:
    engine = engine_for([{**LEAK_RULE, "for": 0, "clear": {"when": {"is": False}}}])
    engine.restore({("water-leak", "leak-b")})
    assert engine.on_reading(leak(True, 1.0)) == []
    assert engine.on_reading(leak(False, 2.0)) == [ClearAlarm("water-leak", "leak-b", 2.0)]


def test_rules_only_bind_to_devices_they_select() -> None:
    engine = engine_for(
        [
            LEAK_RULE,
            {"id": "lilas-a-only", "when": {"place": "lilas/a", "point": "water_leak", "is": True}},
        ]
    )
    assert engine.binding_count == 1
