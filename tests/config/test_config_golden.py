"""Golden tests: ``palier validate`` on each broken installation under ``cases/``.

Each case directory holds a little installation and ``expected.txt``, the exact output.
The command runs as an installer runs it, in a subprocess from the repository root with
a relative ``--config``, so the file paths in the output are stable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CASES = Path(__file__).resolve().parent / "cases"
BROKEN = sorted(p.name for p in CASES.iterdir() if p.is_dir() and not p.name.startswith("valid"))


def validate(config: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "validate", "--config", config],
        cwd=REPO, capture_output=True, encoding="utf-8", timeout=60,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"}, check=False,
    )


def test_the_corpus_covers_the_required_mistakes() -> None:
    required = {
        "yaml_syntax_error", "tab_indentation", "duplicate_key", "unknown_device_key",
        "wrong_type_floors", "bad_duration", "unknown_place", "unknown_point",
        "duplicate_device_id", "duplicate_rule_id", "unknown_kind", "missing_field",
        "is_and_above", "template_syntax_error", "missing_site", "unquoted_on",
    }
    assert required <= set(BROKEN)


@pytest.mark.parametrize("case", BROKEN)
def test_broken_installation_output_is_exact(case: str) -> None:
    expected = (CASES / case / "expected.txt").read_text(encoding="utf-8")
    assert expected.strip(), f"{case}/expected.txt is empty"

    result = validate(f"tests/config/cases/{case}")

    assert "Traceback" not in result.stderr
    assert result.stdout == expected
    assert result.returncode == 1


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
