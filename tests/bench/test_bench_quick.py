"""The benchmark suite runs end to end in its quick mode and reports every figure.

Benchmarks are not unit tests: nothing here looks at a time or a rate. What is
checked is that ``python -m bench --quick`` drives the real components (Mosquitto,
the full gateway, ``palier run``, SQLite and PostgreSQL, the load generator) to a
complete table and JSON, and that the ingest really went through Palier's pipeline
and was acknowledged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import ROWS

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration

SECTIONS = ("ingest", "live", "feed-sqlite", "feed-postgres")


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench") / "quick.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=280, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, f"the quick bench failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    return json.loads(out.read_text()), done.stdout


def test_every_section_ran_or_says_why(quick: tuple[dict, str]) -> None:
    result, _ = quick
    for name in SECTIONS:
        section = result["sections"][name]
        if name == "feed-postgres" and section["status"] == "skipped" and not os.environ.get("CI"):
            continue  # no PostgreSQL on this developer's machine; CI always has one
        assert section["status"] == "ok", f"{name}: {section.get('reason')}"


def test_every_figure_has_median_min_max(quick: tuple[dict, str]) -> None:
    result, _ = quick
    for section, figure, _label, _fmt in ROWS:
        data = result["sections"][section]
        if data["status"] != "ok" or figure.startswith("nodered") or "over_nodered" in figure:
            continue
        value = data["figures"][figure]
        assert set(value) >= {"median", "min", "max", "runs"}, (section, figure)
        assert value["runs"] == 1
        assert all(isinstance(value[k], float) for k in ("median", "min", "max"))


def test_the_table_lists_every_figure(quick: tuple[dict, str]) -> None:
    result, stdout = quick
    for section, figure, label, _fmt in ROWS:
        if result["sections"][section]["status"] == "ok" and "nodered" not in figure:
            assert label in stdout, label
    assert "Node-RED" not in stdout  # no --peers: the peer is not mentioned at all


def test_the_ingest_went_through_palier_and_was_acknowledged(quick: tuple[dict, str]) -> None:
    result, _ = quick
    ingest = result["sections"]["ingest"]
    palier = ingest["runs"][0]["palier"]
    assert palier["pipeline"]["received"] == ingest["messages"]
    assert palier["pipeline"]["rejected"] == 0
    assert palier["pipeline"]["unclaimed_sources"] == {}
    assert palier["pipeline"]["refused_by_flood_guard"] == 0
    assert palier["redelivered_after_drain"] == 0
    assert ingest["runs"][0]["paho"]["received"] == ingest["messages"]


def test_the_machine_and_the_command_are_recorded(quick: tuple[dict, str]) -> None:
    result, _ = quick
    assert result["machine"]["cores"] >= 1
    assert result["machine"]["python"]
    assert result["command"].startswith("python -m bench --quick")
