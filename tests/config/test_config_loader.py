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
        "kind, place, name, offline_after, points, layouts",
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


# --- warnings ---------------------------------------------------------------------------

PUMP_BRIDGE = """\
bridge: {id: acme, format: json, topic: "acme/{source}/data"}
devices:
  - id: pump-b
    source: pump_b
    kind: pump
    place: lilas/b/basement
    points:
      running: {path: relay, map: {"1": on, "0": false}}
"""


def test_a_warning_prints_with_its_label() -> None:
    issue = ConfigIssue("b.yaml", 3, 9, "devices[0].x", "looks odd", "warning")

    assert str(issue) == "b.yaml:3:9: warning: devices[0].x: looks odd"
    assert issue.is_warning


def test_warnings_ride_on_the_installation(tmp_path: Path) -> None:
    root = write(tmp_path, {"site.yaml": SITE, "bridges/acme.yaml": PUMP_BRIDGE})

    installation = load_installation(root)

    assert [str(w).removeprefix(f"{root}/") for w in installation.warnings] == [
        "bridges/acme.yaml:8:41: warning: devices[0].points.running.map.1: unquoted 'on' is "
        "read as true in YAML 1.1; quote it ('on') if you mean the text, write true if you "
        "mean the boolean",
    ]


def test_config_error_keeps_warnings_apart_from_errors(tmp_path: Path) -> None:
    broken = PUMP_BRIDGE.replace("place: lilas/b/basement", "place: lilas/z")
    root = write(tmp_path, {"site.yaml": SITE, "bridges/acme.yaml": broken})

    with pytest.raises(ConfigError) as caught:
        load_installation(root)

    assert [i.field for i in caught.value.issues] == ["devices[0].place"]
    assert [w.field for w in caught.value.warnings] == ["devices[0].points.running.map.1"]
    assert str(caught.value).splitlines()[1].split(": ")[1] == "warning"


def test_run_validate_prints_warnings_then_the_summary_and_returns_0(tmp_path: Path) -> None:
    root = write(tmp_path, {"site.yaml": SITE, "bridges/acme.yaml": PUMP_BRIDGE})
    out = io.StringIO()

    assert run_validate(root, out) == 0
    lines = out.getvalue().splitlines()
    assert ": warning: devices[0].points.running.map.1: " in lines[0]
    assert lines[1] == f"{root}: valid — 1 building, 1 device, 0 rules; 1 warning"


def test_only_words_read_as_booleans_where_text_also_fits_are_warned(tmp_path: Path) -> None:
    site = SITE.replace("basement: true", "basement: yes")  # only a boolean fits: no warning
    bridge = PUMP_BRIDGE.replace('{"1": on, "0": false}', '{"1": y, "0": n}')  # text for PyYAML
    root = write(tmp_path, {"site.yaml": site, "bridges/acme.yaml": bridge})

    with pytest.raises(ConfigError) as caught:  # y and n are text: they do not fit a bool point
        load_installation(root)

    assert caught.value.warnings == []
    assert [i.message.split(";")[0] for i in caught.value.issues] == [
        "'y' does not fit bool point running", "'n' does not fit bool point running",
    ]


def test_an_error_at_the_same_spot_replaces_the_warning(tmp_path: Path) -> None:
    rules = "rules:\n  - id: r\n    when: {kind: lift_monitor, point: state, is: off}\n"
    bridge = "bridge: {id: z2m, format: zigbee2mqtt}\ndevices:\n" \
             "  - {id: lift-b, source: lift_b, kind: lift_monitor, place: lilas/b}\n"
    root = write(tmp_path, {"site.yaml": SITE, "bridges/z.yaml": bridge, "rules/r.yaml": rules})

    with pytest.raises(ConfigError) as caught:
        load_installation(root)

    assert caught.value.warnings == []
    assert [str(i).removeprefix(f"{root}/") for i in caught.value.issues] == [
        "rules/r.yaml:3:50: rules[0].when.is: false never matches: point 'state' holds text, "
        "not true or false (YAML 1.1 reads an unquoted off as false); quote it: 'off'",
    ]


# --- tagged unions ----------------------------------------------------------------------


def test_field_name_reads_a_mapping_key_that_is_a_number_as_a_key() -> None:
    data = {"devices": [{"layouts": {1: {"fields": [{"type": "u64"}]}}}]}
    loc = ("devices", 0, "layouts", 1, "fields", 0, "type")

    assert field_name(loc, data) == "devices[0].layouts.1.fields[0].type"
    assert field_name(loc) == "devices[0].layouts[1].fields[0].type"  # without data: an index


@pytest.mark.parametrize(("bridge", "expected"), [
    ("{id: z, format: }",
     "1:17: bridge.format: expected a format (one of binary, esphome, intercom, json, "
     "shelly_gen2, tasmota, ttn_v3, zigbee2mqtt), got an empty value"),
    ("{id: z, format: [json]}",
     "1:25: bridge.format: unknown format a list; known formats: binary, esphome, intercom, "
     "json, shelly_gen2, tasmota, ttn_v3, zigbee2mqtt"),
    ("{id: z, base_topic: z2m}",
     "1:9: bridge.format: field required (one of binary, esphome, intercom, json, "
     "shelly_gen2, tasmota, ttn_v3, zigbee2mqtt)"),
])
def test_a_bad_format_is_reported_at_the_format(
    tmp_path: Path, bridge: str, expected: str
) -> None:
    root = write(tmp_path, {"site.yaml": SITE, "bridges/b.yaml": f"bridge: {bridge}\n"})

    assert issues_of(root)[-1] == f"bridges/b.yaml:{expected}"


def test_an_unknown_format_still_reports_what_every_format_would_refuse(tmp_path: Path) -> None:
    root = write(tmp_path, {"site.yaml": SITE,
                            "bridges/b.yaml": "bridge: {id: Z, format: zigbe, base_topic: 3}\n"})

    assert issues_of(root) == [
        "bridges/b.yaml:1:14: bridge.id: 'Z' is not a valid id; use lower-case letters, "
        "digits, '.', '_' and '-', starting with a letter or a digit",
        "bridges/b.yaml:1:25: bridge.format: unknown format 'zigbe'; known formats: binary, "
        "esphome, intercom, json, shelly_gen2, tasmota, ttn_v3, zigbee2mqtt; "
        "did you mean 'zigbee2mqtt'?",
    ]


def test_a_field_of_the_chosen_member_is_named_without_the_tag(tmp_path: Path) -> None:
    bridge = "bridge: {id: z, format: zigbee2mqtt, base_topic: 3, colour: x}\n"
    root = write(tmp_path, {"site.yaml": SITE, "bridges/b.yaml": bridge})

    assert issues_of(root) == [
        "bridges/b.yaml:1:50: bridge.base_topic: expected a string, got 3; quote it: '3'",
        "bridges/b.yaml:1:53: bridge.colour: unknown field; expected one of: id, format, "
        "base_topic",
    ]


# --- rule conditions: a union picked by its keys ------------------------------------------

INTERCOM = """\
bridge:
  id: portier
  format: intercom
  topic: "portier/{source}/event"
  events:
    - {match: {event: ring}, event: call, data: {apartment: apartment}}
devices:
  - {id: portier-b, source: station-b, kind: intercom, place: lilas/b/0}
"""


def test_a_condition_error_names_the_field_without_the_member_tag(tmp_path: Path) -> None:
    rules = "rules:\n  - id: r\n    when: {point: temperature, below: low}\n"
    root = write(tmp_path, {"site.yaml": SITE, "bridges/z.yaml": BRIDGE, "rules/r.yaml": rules})

    assert issues_of(root) == [
        "rules/r.yaml:3:39: rules[0].when.below: expected a number, got 'low'",
    ]


def test_the_member_picked_by_the_keys_decides_which_yaml_words_are_warned(
    tmp_path: Path,
) -> None:
    """``match`` takes text or booleans (warned); ``battery_low`` takes only true (not warned)."""
    rules = """\
rules:
  - id: call
    when: {event: call, match: {apartment: on}}
    clear: {after: 5m}
  - id: battery
    when: {battery_low: yes}
"""
    root = write(tmp_path, {"site.yaml": SITE, "bridges/z.yaml": BRIDGE,
                            "bridges/p.yaml": INTERCOM, "rules/r.yaml": rules})

    installation = load_installation(root)

    assert [w.field for w in installation.warnings] == ["rules[0].when.match.apartment"]


def test_checks_that_need_the_devices_keep_quiet_when_a_bridge_is_unreadable(
    tmp_path: Path,
) -> None:
    rules = """\
rules:
  - id: parcel
    when: {kind: intercom, event: parcel_delivered}
    clear: {after: 1h}
  - id: valve
    when: {kind: water_leak_sensor, point: water_leak, is: true}
    raise: {command: {device: valve-b, point: open, value: false}}
"""
    root = write(tmp_path, {"site.yaml": SITE, "bridges/z.yaml": BRIDGE,
                            "bridges/p.yaml": INTERCOM, "bridges/v.yaml": "bridge: [",
                            "rules/r.yaml": rules})

    assert [i.split(": ")[1] for i in issues_of(root)] == ["-"]  # the YAML error alone
