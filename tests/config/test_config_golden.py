"""Golden tests: ``palier validate`` on each installation under ``cases/``.

Each case directory holds a little installation and ``expected.txt``, the exact output.
The command runs as an installer runs it, in a subprocess from the repository root with
a relative ``--config``, so the file paths in the output are stable.

The exit status follows from the output: 0 when it ends with the ``valid`` summary
(warnings may come before it), 1 otherwise.

``{KINDS}`` and ``{UNITS}`` in an expected file stand for the sorted catalogues of
``devices.kinds.KINDS`` and ``devices.units.UNITS``, which grow with every kind or unit
added there: a golden file pins the message down, not the catalogue.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devices.kinds import KINDS
from devices.schema import BRIDGE_FORMATS
from devices.units import UNITS
from firmware_bridge.families import FAMILIES, make_decoder
from gateway.config.loader import load_installation
from rules.schema import (
    CONDITION_TAGS,
    CountCondition,
    EventCondition,
    PointCondition,
    RaiseActions,
)

REPO = Path(__file__).resolve().parents[2]
CASES = Path(__file__).resolve().parent / "cases"
ALL = sorted(p.name for p in CASES.iterdir() if p.is_dir())
BROKEN = [name for name in ALL if not name.startswith("valid")]
GOLDEN = [name for name in ALL if (CASES / name / "expected.txt").exists()]


def validate(config: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "validate", "--config", config],
        cwd=REPO, capture_output=True, encoding="utf-8", timeout=60,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"}, check=False,
    )


def expected_output(case: str) -> str:
    text = (CASES / case / "expected.txt").read_text(encoding="utf-8")
    return text.replace("{KINDS}", ", ".join(sorted(KINDS))).replace(
        "{UNITS}", ", ".join(sorted(UNITS)))


def test_the_corpus_covers_the_required_mistakes() -> None:
    required = {
        "yaml_syntax_error", "tab_indentation", "duplicate_key", "unknown_device_key",
        "wrong_type_floors", "bad_duration", "unknown_place", "unknown_point",
        "duplicate_device_id", "duplicate_rule_id", "unknown_kind", "missing_field",
        "is_and_above", "template_syntax_error", "missing_site", "unquoted_on",
        "unknown_format", "ttn_layout_errors", "binary_without_layout", "intercom_events",
        "bad_topic_pattern", "from_unit_not_convertible", "map_value_type", "range_on_bool",
        "unquoted_on_in_map", "ttn_without_layouts", "rule_test_types", "bridge_decoder_errors",
        "rules_condition_shape", "rules_point_tests", "rules_events", "rules_device_conditions",
        "rules_count", "rules_command", "rules_templates", "rules_schedule_escalation",
        "rules_actions", "rules_clear", "rules_unreadable_bridge", "rules_reveal",
        "members_on_call",
    }
    assert required <= set(GOLDEN)
    assert set(BROKEN) <= set(GOLDEN), "every broken case needs an expected.txt"


@pytest.mark.parametrize("case", GOLDEN)
def test_validate_output_is_exact(case: str) -> None:
    expected = expected_output(case)
    assert expected.strip(), f"{case}/expected.txt is empty"

    result = validate(f"tests/config/cases/{case}")

    assert "Traceback" not in result.stderr
    assert result.stdout == expected
    is_valid = expected.splitlines()[-1].startswith(f"tests/config/cases/{case}: valid — ")
    assert result.returncode == (0 if is_valid else 1)


def test_valid_installation_prints_a_summary_and_exits_0() -> None:
    result = validate("tests/config/cases/valid_minimal")

    assert "Traceback" not in result.stderr
    summary = "valid — 1 building, 2 devices, 2 rules"
    assert result.stdout == f"tests/config/cases/valid_minimal: {summary}\n"
    assert result.returncode == 0


def test_a_missing_directory_is_one_issue_not_a_traceback() -> None:
    result = validate("tests/config/cases/no_such_case")

    assert "Traceback" not in result.stderr
    assert result.stdout == "tests/config/cases/no_such_case:1:1: -: no such directory\n"
    assert result.returncode == 1


def test_all_families_has_a_bridge_of_every_format_and_no_warning() -> None:
    installation = load_installation(CASES / "valid_all_families")

    assert {b.bridge.format for b in installation.bridges} == set(BRIDGE_FORMATS)
    assert all(b.devices for b in installation.bridges)
    assert installation.warnings == ()


@pytest.mark.parametrize("fmt", sorted(BRIDGE_FORMATS))
def test_all_families_builds_the_decoder_of_every_registered_family(fmt: str) -> None:
    """The case is also the decoders' fixture: what validates must start."""
    if fmt not in FAMILIES:
        pytest.skip(f"no decoder registered for {fmt} yet")
    installation = load_installation(CASES / "valid_all_families")
    (bridge,) = [b.bridge for b in installation.bridges if b.bridge.format == fmt]

    decoder = make_decoder(bridge)

    assert callable(decoder.decode)


@pytest.mark.parametrize("case", GOLDEN)
def test_no_union_tag_shows_in_a_field_name(case: str) -> None:
    """``rules[0].when.below``, never ``rules[0].when.PointCondition.below``."""
    assert not any(tag in expected_output(case) for tag in CONDITION_TAGS)


def test_all_families_has_a_rule_of_every_condition_and_action() -> None:
    """The case is also the installer's living example of the rules: keep it complete."""
    rules = load_installation(CASES / "valid_all_families").rules
    inner = [r.when.of if isinstance(r.when, CountCondition) else r.when for r in rules]

    assert {type(r.when).__name__ for r in rules} == CONDITION_TAGS
    assert {c.test_name for c in inner if isinstance(c, PointCondition)} == {
        "is", "in", "above", "below", "between", "changed", "rate", "missing"}
    assert any(isinstance(c, PointCondition) and c.hysteresis for c in inner)
    assert any(isinstance(c, EventCondition) and c.match for c in inner)
    optional_actions = [name for name, info in RaiseActions.model_fields.items()
                        if info.default is None]
    for action in optional_actions:
        assert any(getattr(r.raise_, action) is not None for r in rules), action
    assert any(r.raise_.on_call for r in rules)
    assert any(r.raise_.notify == "none" for r in rules)
    assert any(r.raise_.post and r.raise_.post.reveal != "floor" for r in rules)
    assert any(r.during for r in rules) and any(r.cooldown for r in rules)
    assert any(r.acknowledge for r in rules)
    assert any(step.help_request for r in rules for step in r.escalate)
    clears = [r.clear for r in rules if r.clear]
    assert any(c.when for c in clears) and any(c.after for c in clears)
    assert any(c.post_update for c in clears)
