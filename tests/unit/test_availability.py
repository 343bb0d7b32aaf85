"""gateway.availability: heartbeats trip exactly when a device's budget runs out, though a
check with nothing due skips the walk over every device."""

from __future__ import annotations

from devices.records import Device
from gateway.availability import AvailabilityTracker


def device(name: str, budget: float | None) -> Device:
    return Device(name, "z2m", name, "water_leak_sensor", "lilas/b", name, (), budget)


def offline_at(tracker: AvailabilityTracker, start: float, end: float,
               step: float = 1.0) -> dict[str, float]:
    """Check heartbeats every ``step`` seconds; when each device was called offline."""
    found: dict[str, float] = {}
    now = start
    while now <= end:
        for change in tracker.check_heartbeats(now):
            found[change.device_id] = now
        now += step
    return found


def test_a_silent_device_goes_offline_just_after_its_budget() -> None:
    tracker = AvailabilityTracker([device("slow", 100.0), device("quick", 10.0),
                                   device("forever", None)])
    for name in ("slow", "quick", "forever"):
        tracker.heard(name, 0.0)
    assert offline_at(tracker, 1.0, 200.0) == {"quick": 11.0, "slow": 101.0}
    assert tracker.health["forever"].state == "online"


def test_a_device_coming_online_later_with_a_shorter_budget_is_not_missed() -> None:
    tracker = AvailabilityTracker([device("slow", 1000.0), device("quick", 10.0)])
    tracker.heard("slow", 0.0)
    assert tracker.check_heartbeats(5.0) == []  # the next deadline is now 1000
    tracker.heard("quick", 6.0)  # unknown → online: due 16
    assert offline_at(tracker, 7.0, 30.0) == {"quick": 17.0}
    tracker.reported("quick", True, 40.0)  # back online through its bridge
    assert offline_at(tracker, 41.0, 60.0) == {"quick": 51.0}


def test_a_reading_heard_again_pushes_the_deadline_and_a_clock_step_back_is_followed() -> None:
    tracker = AvailabilityTracker([device("a", 10.0)])
    tracker.heard("a", 100.0)
    assert tracker.check_heartbeats(105.0) == []
    tracker.heard("a", 108.0)
    assert tracker.check_heartbeats(111.0) == []  # 100 + 10 has passed, 108 + 10 has not
    tracker.heard("a", 90.0)  # the clock stepped back
    assert [c.device_id for c in tracker.check_heartbeats(100.5)] == ["a"]
