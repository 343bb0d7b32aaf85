"""In-process tests of the loader and ``run_validate`` for what golden files cannot show."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gateway.config import validate as validate_module
from gateway.config.errors import ConfigError, ConfigIssue, field_name
from gateway.config.loader import load_installation
from gateway.config.validate import run_validate

CASES = Path(__file__).resolve().parent / "cases"

SITE = """\
city: {id: evry, name: Évry}
neighbourhoods:
  - id: pyramides
    buildings:
      - id: lilas
        name: Les Lilas
        entrances: {b: {floors: 2, basement: true}}
"""

BRIDGE = """\
bridge: {id: z2m, format: zigbee2mqtt}
devices:
  - {id: leak-b, source: leak_b, kind: water_leak_sensor, place: lilas/b/basement}
"""


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def issues_of(root: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_installation(root)
    prefix = f"{root}/"
    return [str(issue).removeprefix(prefix) for issue in caught.value.issues]


def test_issue_prints_as_path_line_column_field_message() -> None:
    issue = ConfigIssue("config/demo/site.yaml", 3, 9, "city.id", "must not be empty")

    assert str(issue) == "config/demo/site.yaml:3:9: city.id: must not be empty"


def test_config_error_sorts_by_path_then_position_and_drops_repeats() -> None:
    b = ConfigIssue("b.yaml", 1, 1, "-", "x")
    a2 = ConfigIssue("a.yaml", 2, 1, "-", "x")
    a1 = ConfigIssue("a.yaml", 1, 9, "-", "x")

    error = ConfigError([b, a2, a1, b])

    assert error.issues == [a1, a2, b]
    assert str(error).splitlines() == [str(a1), str(a2), str(b)]


def test_field_name_reads_like_the_yaml() -> None:
    assert field_name(("rules", 0, "when", "point")) == "rules[0].when.point"
    assert field_name(("neighbourhoods", 1, "buildings", 0, "entrances", "b")) == (
        "neighbourhoods[1].buildings[0].entrances.b"
    )
    assert field_name(("points", "a b")) == "points['a b']"
    assert field_name(()) == "-"


def test_valid_installation_is_loaded_with_its_places(tmp_path: Path) -> None:
    installation = load_installation(CASES / "valid_minimal")

    assert installation.places["lilas/b/basement"].kind == "floor"
    assert installation.building_of("lilas/b/basement") == "lilas"
    assert [b.bridge.id for b in installation.bridges] == ["z2m-lilas"]
    assert [r.id for r in installation.rules] == ["water-leak", "lift-door-stuck"]


def test_members_are_loaded_and_checked(tmp_path: Path) -> None:
    members = """\
members:
  - username: marie
    display_name: Marie
    password: demo-marie
    memberships: [{place: lilas/b/1/11, role: resident}]
"""
    root = write(tmp_path, {"site.yaml": SITE, "members.yaml": members})

    installation = load_installation(root)

    assert [m.username for m in installation.members] == ["marie"]


def test_an_empty_file_is_a_mapping_with_no_keys(tmp_path: Path) -> None:
    root = write(tmp_path, {"site.yaml": "# to do\n", "rules/none.yaml": ""})

    assert issues_of(root) == ["site.yaml:1:1: city: field required"]


def test_file_problems_are_issues(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "site.yaml": SITE,
        "bridges/latin1.yaml": b"bridge: {id: z2m, format: zigbee2mqtt}\nname: caf\xe9\n",
        "bridges/old.yml": BRIDGE,
        "bridges/.#lock.yaml": "not: [yaml",
    })
    (root / "bridges" / "folder.yaml").mkdir()

    assert issues_of(root) == [
        "bridges/folder.yaml:1:1: -: is a directory, expected a YAML file",
        "bridges/latin1.yaml:2:10: -: not UTF-8 text (byte 0xe9)",
        "bridges/old.yml:1:1: -: ignored: name it .yaml to have it loaded",
    ]


def test_an_unreadable_file_is_an_issue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path, {"site.yaml": SITE})
    real = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self.name == "site.yaml":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)

    assert issues_of(root) == ["site.yaml:1:1: -: cannot read: Permission denied"]


def test_root_that_is_a_file_is_one_issue(tmp_path: Path) -> None:
    file = write(tmp_path, {"site.yaml": SITE}) / "site.yaml"

    with pytest.raises(ConfigError) as caught:
        load_installation(file)

    assert [str(i) for i in caught.value.issues] == [f"{file}:1:1: -: not a directory"]


def test_union_mismatch_is_one_merged_message(tmp_path: Path) -> None:
    rules = """\
rules:
  - id: r
    when: {point: water_leak, is: [true]}
    raise: {post: {title: 42}}
"""
    root = write(tmp_path, {"site.yaml": SITE, "bridges/z.yaml": BRIDGE, "rules/r.yaml": rules})

    assert issues_of(root) == [
        "rules/r.yaml:3:35: rules[0].when.is: expected a boolean, a number or a string, "
        "got a list",
        "rules/r.yaml:4:27: rules[0].raise.post.title: expected a mapping or a string, got 42; "
        "quote it: '42'",
    ]


def test_a_bridge_file_that_does_not_parse_silences_device_lookups(tmp_path: Path) -> None:
    rules = """\
rules:
  - id: r
    when: {device: pump-b, point: running, is: true}
  - id: s
    when: {kind: lift_monitor, point: fault, is: true}
"""
    root = write(tmp_path, {
        "site.yaml": SITE,
        "bridges/a.yaml": BRIDGE,
        "bridges/b.yaml": "devices: [\n",
        "rules/r.yaml": rules,
    })

    issues = issues_of(root)

    assert len(issues) == 1
    assert issues[0].startswith("bridges/b.yaml:2:1: -: invalid YAML")


def test_a_device_with_a_bad_field_still_counts_for_the_rules(tmp_path: Path) -> None:
    pump = "  - {id: pump-b, source: pump, kind: generic, place: lilas/b/0, colour: red}\n"
    bridge = BRIDGE + pump
    rules = "rules:\n  - id: r\n    when: {device: pump-b, point: running, is: true}\n"
    root = write(tmp_path, {"site.yaml": SITE, "bridges/z.yaml": bridge, "rules/r.yaml": rules})

    assert issues_of(root) == [
        "bridges/z.yaml:4:65: devices[1].colour: unknown field; expected one of: id, source, "
        "kind, place, name, offline_after, points",
        "rules/r.yaml:3:35: rules[0].when.point: unknown point 'running' for device 'pump-b' "
        "(generic); known points: none",
    ]


def test_run_validate_prints_issues_and_returns_1(tmp_path: Path) -> None:
    out = io.StringIO()

    assert run_validate(tmp_path, out) == 1
    assert out.getvalue() == f"{tmp_path}/site.yaml:1:1: -: file not found\n"


def test_run_validate_prints_a_summary_and_returns_0() -> None:
    out = io.StringIO()

    assert run_validate(CASES / "valid_minimal", out) == 0
    assert out.getvalue() == f"{CASES / 'valid_minimal'}: valid — 1 building, 2 devices, 2 rules\n"


def test_run_validate_turns_an_unexpected_os_error_into_an_issue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def vanish(root: Path) -> None:
        raise FileNotFoundError(2, "No such file or directory", str(root / "rules"))

    monkeypatch.setattr(validate_module, "load_installation", vanish)
    out = io.StringIO()

    assert run_validate(tmp_path, out) == 1
    assert out.getvalue() == f"{tmp_path}/rules:1:1: -: No such file or directory\n"
