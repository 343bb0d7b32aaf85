"""Splitting an installation between workers by building (pure logic, no broker)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from gateway.config.loader import load_installation
from gateway.partition import Partition, PartitionError, restrict, slot_of

INSTALLATION = Path(__file__).parents[1] / "integration" / "installation"


def test_parse_accepts_n_of_m_and_refuses_the_rest() -> None:
    assert Partition.parse("2/3") == Partition(2, 3)
    for bad in ("0/3", "4/3", "3", "a/b", "1/0", "-1/2", ""):
        with pytest.raises(PartitionError, match="partition"):
            Partition.parse(bad)


def test_every_building_has_exactly_one_owner() -> None:
    buildings = [f"building-{n}" for n in range(300)]
    workers = [Partition(i, 3) for i in (1, 2, 3)]
    owners = Counter(sum(w.owns(b) for w in workers) for b in buildings)
    assert owners == {1: 300}
    # Spread: no worker is left with less than a fifth of 300 buildings.
    shares = [sum(w.owns(b) for b in buildings) for w in workers]
    assert min(shares) > 60, shares


def test_the_slot_is_the_same_in_another_process() -> None:
    """``hash()`` is salted per process; the slot must not be."""
    code = ("from gateway.partition import slot_of; "
            "print([slot_of(f'b{n}', 7) for n in range(50)])")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": "12345", "PATH": ""},
                           cwd=Path(__file__).parents[2])
    assert other.stdout.strip() == str([slot_of(f"b{n}", 7) for n in range(50)])


def test_client_ids_differ_per_worker_and_not_for_a_single_process() -> None:
    ids = {Partition(i, 3).client_id("palier") for i in (1, 2, 3)}
    assert len(ids) == 3
    assert Partition().client_id("palier") == "palier"
    named = Partition.of_buildings(["lilas"]).client_id("palier")
    assert named != "palier" and named == Partition.of_buildings(["lilas"]).client_id("palier")


def test_only_the_first_slot_leads() -> None:
    assert Partition(1, 3).leader and not Partition(2, 3).leader
    assert not Partition.of_buildings(["lilas"]).leader
    assert Partition().leader and Partition().whole


def test_restrict_keeps_the_devices_of_owned_buildings_and_names_the_others() -> None:
    installation = load_installation(INSTALLATION)
    cut = restrict(installation, Partition.of_buildings(["tilleuls"]))
    kept = [d.id for b in cut.installation.bridges for d in b.devices]
    assert kept == ["leak-tilleuls-cave"]
    assert cut.devices_dropped == 2
    # The shared zigbee2mqtt bridge stays, so the other devices' traffic is foreign.
    assert cut.foreign == {("z2m", "leak_cave_b"), ("z2m", "temp_hall_a")}
    # Places and members are untouched: the social layer is shared.
    assert cut.installation.places == installation.places
    assert cut.installation.members == installation.members


def test_restrict_drops_bridges_with_nothing_owned_and_a_single_worker_keeps_all() -> None:
    installation = load_installation(INSTALLATION)
    whole = restrict(installation, Partition())
    assert whole.installation is installation and not whole.foreign
    owners = [w for w in (1, 2, 3, 4, 5) if restrict(installation, Partition(w, 5)).devices_kept]
    total = sum(restrict(installation, Partition(w, 5)).devices_kept for w in range(1, 6))
    assert total == 3
    for worker in set(range(1, 6)) - set(owners):
        assert restrict(installation, Partition(worker, 5)).installation.bridges == ()


def test_restrict_refuses_unknown_buildings() -> None:
    installation = load_installation(INSTALLATION)
    with pytest.raises(PartitionError, match="nowhere"):
        restrict(installation, Partition.of_buildings(["lilas", "nowhere"]))


@pytest.mark.parametrize(("args", "message"), [
    (["--partition", "1/3"], "need --broker"),
    (["--partition", "4/3", "--broker", "mqtt://127.0.0.1:1"], "between 1 and M"),
    (["--partition", "1/3", "--buildings", "lilas", "--broker", "mqtt://127.0.0.1:1"],
     "not both"),
    (["--buildings", "lilas,nowhere", "--broker", "mqtt://127.0.0.1:1"], "nowhere"),
])
def test_palier_run_refuses_a_bad_partition_before_starting(
        args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    from gateway.cli import main

    assert main(["run", "--config", str(INSTALLATION), *args]) == 2
    assert message in capsys.readouterr().err


def test_per_device_filters_name_each_owned_device_where_the_topic_carries_it() -> None:
    from gateway.partition import per_device_filters

    assert per_device_filters(("tele/+/SENSOR", "tele/+/LWT"), ["plug1", "plug2"]) == (
        "tele/plug1/SENSOR", "tele/plug2/SENSOR", "tele/plug1/LWT", "tele/plug2/LWT")
    assert per_device_filters(("+/+/+/state", "+/status"), ["node"]) == (
        "node/+/+/state", "node/status")
    assert per_device_filters(("v3/app/devices/+/up",), ["eui-1"]) == ("v3/app/devices/eui-1/up",)
    # zigbee2mqtt's base/# carries no device level; a source of several levels cannot be
    # named in one: both stay as they were (wider, still correct).
    assert per_device_filters(("z2m/#",), ["leak"]) == ("z2m/#",)
    assert per_device_filters(("+/online",), ["site/a"]) == ("+/online",)


def test_restrict_marks_bridges_kept_in_part_as_shared() -> None:
    installation = load_installation(INSTALLATION)
    assert restrict(installation, Partition.of_buildings(["tilleuls"])).shared == {"z2m"}
    assert restrict(installation, Partition()).shared == frozenset()
