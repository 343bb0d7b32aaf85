"""``palier replay`` over a generated day of Les Lilas' traffic, against a golden timeline.

The golden (``tests/fixtures/replay/day.timeline.txt``) was checked line by line against
the incidents ``make_day.py`` scripts; ``test_the_golden_tells_the_day`` pins those
checks down, so a careless regeneration that loses an incident fails here too.

To regenerate after a deliberate change::

    .venv/bin/python -m tests.replay.make_day          # only if the traffic changed
    PALIER_UPDATE_GOLDEN=1 .venv/bin/pytest tests/replay -k golden

then read the diff of ``day.timeline.txt`` before committing it.
"""

from __future__ import annotations

import difflib
import io
import math
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from gateway.record import RecordedMessage
from gateway.replay import ACK_NOTE, run_replay
from tests.replay import make_day

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "replay"
CONFIG = FIXTURES / "config"
DAY = FIXTURES / "day.jsonl"
GOLDEN = FIXTURES / "day.timeline.txt"


def replay(recording: Path, config: Path = CONFIG, *args: str, **options: object
           ) -> tuple[int, str, str]:
    """Run ``palier replay`` in this process; (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = run_replay(recording, config, out=out, err=err, progress=False,
                      **options)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def palier(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command line, in a child process."""
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def stamp(epoch: float) -> str:
    """A timeline time: the site's local time, whole seconds."""
    return datetime.fromtimestamp(math.floor(epoch), make_day.TZ).strftime("%Y-%m-%d %H:%M:%S")


def tick(epoch: float) -> str:
    """When a timer due at ``epoch`` fires: the next whole simulated second."""
    return stamp(math.ceil(epoch))


def epoch(line: str) -> float:
    """The time of a timeline line, back to epoch seconds."""
    local = datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=make_day.TZ)
    return local.timestamp()


def entries(timeline: str, kind: str, *words: str) -> list[str]:
    return [line for line in timeline.splitlines()
            if line[21:30].strip() == kind and all(w in line for w in words)]


@pytest.fixture(scope="module")
def day_timeline() -> str:
    code, out, err = replay(DAY)
    assert code == 0, err
    assert "Traceback" not in err
    return out


def test_the_day_replays_to_the_golden_timeline(day_timeline: str) -> None:
    if os.environ.get("PALIER_UPDATE_GOLDEN"):
        GOLDEN.write_text(day_timeline, encoding="utf-8")
        pytest.skip("golden rewritten: read its diff before committing it")
    golden = GOLDEN.read_text(encoding="utf-8")
    diff = "\n".join(difflib.unified_diff(golden.splitlines(), day_timeline.splitlines(),
                                          "golden", "replayed", lineterm=""))
    assert day_timeline == golden, f"the timeline changed:\n{diff}"


def test_the_golden_tells_the_day() -> None:
    """The incidents of make_day.py, at the times a reader of the golden checked by eye."""
    golden = GOLDEN.read_text(encoding="utf-8")

    # A leak at 10:42:07, dry at 11:05:12, cleared after its two dry minutes.
    [leak] = entries(golden, "RAISE", "water-leak")
    assert leak.startswith(stamp(make_day.LEAK_WET))
    assert "critical  water-leak  leak-lilas-b-cave" in leak
    assert '"Fuite d\'eau — Résidence Les Lilas, Entrée B, sous-sol"' in leak
    [post] = entries(golden, "POST", "Fuite d'eau")
    assert post.startswith(stamp(make_day.LEAK_WET)) and "alert  lilas  " in post
    [dry] = entries(golden, "CLEAR", "water-leak")
    assert dry.startswith(tick(make_day.LEAK_DRY + 120)) and dry.endswith("after 23 min")

    # The lift faults at 14:00:20; raised after its minute, escalated to the on-call
    # manager 30 minutes after the fault began (the book's clock starts with the
    # condition), cleared when repaired at 17:23:40.
    [lift] = entries(golden, "RAISE", "lift-fault")
    assert lift.startswith(tick(make_day.LIFT_FAULT + 60))
    assert lift.startswith("2026-11-25 14:01:")
    [escalation] = entries(golden, "ESCALATE", "lift-fault")
    assert escalation.startswith(tick(make_day.LIFT_FAULT + 1800))
    assert "to on_call (syndic)" in escalation
    [help_request] = entries(golden, "POST", "help request")
    assert help_request.startswith(tick(make_day.LIFT_FAULT + 1800))
    assert "lilas/b" in help_request
    [repaired] = entries(golden, "CLEAR", "lift-fault")
    assert repaired.startswith(stamp(make_day.LIFT_BACK))
    assert repaired.endswith("after 3 h 23 min")

    # A cold night around 14 °C: hysteresis makes it one alarm, raised soon after 02:00
    # and cleared once the heating is back.
    [cold] = entries(golden, "RAISE", "hall-cold-b")
    assert stamp(make_day.COLD_FROM) < cold[:19] < stamp(make_day.COLD_FROM + 1800)
    [warm] = entries(golden, "CLEAR", "hall-cold-b")
    assert stamp(make_day.COLD_TO) < warm[:19] < stamp(make_day.COLD_TO + 3600)
    assert not entries(golden, "RAISE", "hall-cold-a")

    # The boiler-room leak sensor's battery died at 15:12: offline two hours after its
    # last message.
    [silent] = entries(golden, "OFFLINE", "leak-lilas-b-chaufferie")
    due = make_day.BATTERY_DIES + 7200
    assert stamp(due - 600) < silent[:19] <= stamp(due)
    assert "(heartbeat)" in silent

    # The bridge said lift A went offline, then online.
    assert entries(golden, "OFFLINE", "lift-lilas-a")[0].startswith(
        stamp(make_day.LIFT_A_OFFLINE))
    assert entries(golden, "ONLINE", "lift-lilas-a")[0].startswith(
        stamp(make_day.LIFT_A_ONLINE))

    # Every broken payload, with its reason; nothing else raised.
    rejects = entries(golden, "REJECT")
    assert [line[:19] for line in rejects] == [stamp(m.t) for m in make_day.broken()]
    assert len(entries(golden, "RAISE")) == 3
    assert "  rejected 5: " in golden
    assert "  unclaimed sources: z2m-lilas/0x00158d0004a1b2c3 (4)" in golden


def test_without_hysteresis_the_same_night_flaps(tmp_path: Path) -> None:
    """The fixture's noise really crosses 14 °C: the golden's single alarm is hysteresis."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    rules = config / "rules" / "temperature.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("hysteresis: 1", "hysteresis: 0"),
                     encoding="utf-8")
    code, out, err = replay(DAY, config)
    assert code == 0, err
    assert len(entries(out, "RAISE", "hall-cold-b")) > 1


def test_replaying_twice_prints_the_same_timeline(day_timeline: str) -> None:
    """The second time from the command line: another process, another hash seed."""
    done = palier("replay", str(DAY), "--config", str(CONFIG), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert done.stdout == day_timeline
    assert "Traceback" not in done.stderr
    assert "messages/s" in done.stderr


def test_acknowledging_shows_ack_lines_and_stops_escalation() -> None:
    code, out, err = replay(DAY, acknowledge_after=600.0)
    assert code == 0, err
    raises = entries(out, "RAISE")
    acks = entries(out, "ACK")
    assert len(acks) == len(raises) == 3
    for raised in raises:
        rule, subject = raised.split()[4:6]
        [ack] = [a for a in acks if f"  {rule}  {subject}  " in a]
        # ten minutes after the alarm appeared, at the next whole second
        assert epoch(raised) + 600 <= epoch(ack) <= epoch(raised) + 601
        assert f'by syndic  "{ACK_NOTE}"' in ack
    assert not entries(out, "ESCALATE")
    assert not entries(out, "POST", "help request")
    assert "3 acknowledged" in out


def small_recording(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def msg(clock: str, topic: str, payload: bytes | str) -> bytes:
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    data = payload.encode() if isinstance(payload, str) else payload
    return RecordedMessage(make_day.at(hours, minutes, seconds), topic, data).to_line().encode()


def test_malformed_lines_are_reported_with_their_number_and_skipped(tmp_path: Path) -> None:
    recording = small_recording(tmp_path / "broken.jsonl", [
        msg("10:00:00", "zigbee2mqtt/leak_cave_b", '{"water_leak":false}'),
        b"this is not JSON",
        msg("10:42:07", "zigbee2mqtt/leak_cave_b", '{"water_leak":true}'),
        b'[1, 2, 3]',
        b'{"t": "yesterday", "topic": "zigbee2mqtt/leak_cave_b", "payload": "{}"}',
        b'{"t": 1795600000, "topic": "zigbee2mqtt/x", "payload": {"base64": "%%%"}}',
        b'{"t": 1795600000, "topic": "zigbee2mqtt/x", "payload": "x", "qos": 7}',
        b"\xff\xfe not UTF-8",
        b"",
        b'{"t": 1795600000, "payload": "no topic"}',
        msg("11:05:12", "zigbee2mqtt/leak_cave_b", '{"water_leak":false}'),
    ])
    done = palier("replay", str(recording), "--config", str(CONFIG))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    skipped = [line for line in done.stderr.splitlines() if ": skipped: " in line]
    assert skipped == [
        f"{recording}:2: skipped: not JSON (Expecting value at column 1)",
        f"{recording}:4: skipped: expected a JSON object, got list",
        f'{recording}:5: skipped: t: expected epoch seconds (a number), got "yesterday"',
        f"{recording}:6: skipped: payload: base64 is not valid",
        f"{recording}:7: skipped: qos: expected 0, 1 or 2, got 7",
        f"{recording}:8: skipped: not UTF-8 text (byte 1)",
        f"{recording}:10: skipped: topic: expected a non-empty string, got nothing",
    ]
    # The good lines around them still replay: the leak is raised and cleared.
    assert entries(done.stdout, "RAISE", "water-leak")[0].startswith("2026-11-25 10:42:07")
    assert entries(done.stdout, "CLEAR", "water-leak")[0].startswith("2026-11-25 11:07:12")
    assert "  skipped lines: 7 (line 2, 4, 5, 6, 7, 8, 10)" in done.stdout


def test_notices_commands_and_webhooks_are_shown_not_sent(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    (config / "rules" / "kitchen.yaml").write_text(
        "rules:\n"
        "  - id: kitchen-leak\n"
        "    when: {device: leak-lilas-b-32, point: water_leak, is: true}\n"
        "    severity: major\n"
        "    raise:\n"
        "      notice: {title: {fr: \"Fuite chez vous\", en: \"A leak at home\"}}\n"
        "      command: {device: pump-lilas-b, point: state, value: false}\n"
        "      webhook: {url: \"https://plombier.example/api/leaks\"}\n",
        encoding="utf-8")
    recording = small_recording(tmp_path / "kitchen.jsonl", [
        msg("19:02:03", "zigbee2mqtt/leak_cuisine_b32", '{"water_leak":true}'),
    ])
    code, out, err = replay(recording, config)
    assert code == 0, err
    assert '2026-11-25 19:02:03  NOTICE    lilas/b/3/32  "Fuite chez vous"' in out
    assert "2026-11-25 19:02:03  COMMAND   pump-lilas-b  state=false  (not sent by a replay)" in out
    assert ("2026-11-25 19:02:03  WEBHOOK   POST  https://plombier.example/api/leaks  "
            "(not called by a replay)") in out
    assert "2 raised" in out and "2 still open" in out  # water-leak fires too


def test_an_invalid_config_prints_positions_and_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    water = config / "rules" / "water.yaml"
    water.write_text(water.read_text(encoding="utf-8").replace("for: 2m ", "for: 2 minutes "),
                     encoding="utf-8")
    code, out, err = replay(DAY, config)
    assert code == 1
    assert out == ""
    first = err.splitlines()[0]
    assert first.startswith(f"{water}:") and "clear.for" in first and "not a duration" in first
    assert first.split(":")[1:3] == ["18", "12"]


def test_an_unreadable_recording_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    assert replay(missing) == (1, "", f"palier replay: cannot read {missing}: "
                                      "No such file or directory\n")


def test_a_failing_rule_stops_the_replay_at_its_line(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in the rules or the book is shown with the line that hit it, not swallowed."""
    from rules.engine import RuleEngine

    def broken(self: RuleEngine, reading: object) -> list[object]:
        raise ZeroDivisionError("division by zero in a template")

    monkeypatch.setattr(RuleEngine, "on_reading", broken)
    recording = small_recording(tmp_path / "one.jsonl", [
        msg("09:00:00", "zigbee2mqtt/bridge/state", '{"state":"online"}'),
        msg("09:00:01", "zigbee2mqtt/leak_cave_b", '{"water_leak":false}'),
    ])
    code, out, err = replay(recording)
    assert code == 1
    assert f"{recording}: line 2: ZeroDivisionError: division by zero in a template" in err
    assert "stopped at 2026-11-25 09:00:01" in err
    assert "replayed 2 messages" in out


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("progress", [True, False])
def test_the_progress_bar_goes_to_a_terminal_only(tmp_path: Path, progress: bool) -> None:
    lines = DAY.read_bytes().splitlines()[:300]
    recording = small_recording(tmp_path / "part.jsonl", lines)
    terminal, out = FakeTerminal(), io.StringIO()
    assert run_replay(recording, CONFIG, out=out, err=terminal, progress=progress) == 0
    drawn = "msg/s" in terminal.getvalue() or "300/300" in terminal.getvalue()
    assert drawn is progress
    assert "\r" not in out.getvalue()


def test_without_a_manager_nobody_acknowledges_and_the_alarm_escalates(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    (config / "members.yaml").write_text(
        "members:\n"
        "  - {username: amelie, display_name: Amélie, password: test-pass,\n"
        "     memberships: [{place: lilas/b/3/32, role: resident}]}\n", encoding="utf-8")
    recording = small_recording(tmp_path / "lift.jsonl", [
        msg("14:00:20", "zigbee2mqtt/lift_lilas_b", '{"fault":true,"running":false}'),
    ])
    code, out, err = replay(recording, config, acknowledge_after=600.0)
    assert code == 0, err
    assert ("2026-11-25 14:11:20  ACK       lift-fault  lift-lilas-b  "
            "skipped: no manager of this building in members.yaml") in out
    # Nobody is on call either: the step is still taken, and told to nobody.
    assert ("2026-11-25 14:30:20  ESCALATE  lift-fault  lift-lilas-b  to on_call  "
            "unacknowledged for 30 min") in out
    assert "then 31 min of timers" in out
