"""Unit tests of the position-keeping YAML parser."""

from __future__ import annotations

import yaml

from gateway.config.errors import ConfigIssue
from gateway.config.yaml_positions import Mark, is_yaml11_bool, parse_yaml

DEVICES = """\
# a comment first
bridge: {id: z2m, format: zigbee2mqtt}
devices:
  - id: leak
    place: lilas/b/basement
    points:
      water: {path: a.b}
"""


def test_data_is_what_safe_load_gives() -> None:
    doc, issues = parse_yaml(DEVICES, "b.yaml")

    assert issues == []
    assert doc is not None
    assert doc.data == yaml.safe_load(DEVICES)


def test_keys_and_values_have_1_based_marks() -> None:
    doc, _ = parse_yaml(DEVICES, "b.yaml")
    assert doc is not None

    place = doc.entries[("devices", 0, "place")]
    assert place.key == Mark(5, 5)
    assert place.value == Mark(5, 12)
    flow = doc.entries[("bridge", "format")]
    assert (flow.key, flow.value) == (Mark(2, 19), Mark(2, 27))
    item = doc.entries[("devices", 0)]
    assert (item.key, item.value) == (None, Mark(4, 5))
    assert doc.entries[()].value == Mark(2, 1)  # the root mapping starts after the comment


def test_entry_falls_back_to_the_longest_known_prefix() -> None:
    doc, _ = parse_yaml(DEVICES, "b.yaml")
    assert doc is not None

    assert doc.entry(("devices", 0, "name")) == doc.entries[("devices", 0)]
    assert doc.entry(("nothing", "here")).value == Mark(2, 1)


def test_issue_points_at_the_value_or_the_key() -> None:
    doc, _ = parse_yaml(DEVICES, "b.yaml")
    assert doc is not None

    loc = ("devices", 0, "points", "water", "path")
    expected = ConfigIssue("b.yaml", 7, 21, "devices[0].points.water.path", "bad")
    assert doc.issue(loc, "bad") == expected
    assert doc.issue(loc, "bad", at_key=True).column == 15


def test_an_empty_value_is_reported_at_its_key() -> None:
    doc, _ = parse_yaml("a:\n  place:\n  b: 1\n", "x.yaml")
    assert doc is not None

    entry = doc.entries[("a", "place")]
    assert entry.empty
    assert entry.where == Mark(2, 3)


def test_plain_scalars_keep_their_text_and_quoted_ones_do_not() -> None:
    doc, _ = parse_yaml("a: on\nb: 'on'\nc: 0042\n", "x.yaml")
    assert doc is not None

    assert doc.data == {"a": True, "b": "on", "c": 0o42}  # YAML 1.1 octal, another trap
    assert doc.entries[("a",)].text == "on"
    assert doc.entries[("b",)].text is None
    assert doc.entries[("c",)].text == "0042"


def test_duplicate_key_is_reported_at_the_second_and_the_last_wins() -> None:
    doc, issues = parse_yaml("devices:\n  - id: a\n    kind: generic\n    id: b\n", "d.yaml")

    assert [str(i) for i in issues] == [
        "d.yaml:4:5: devices[0].id: duplicate key 'id' (first at line 2)"
    ]
    assert doc is not None
    assert doc.data == {"devices": [{"id": "b", "kind": "generic"}]}  # as PyYAML does


def test_merge_keys_may_override_without_being_duplicates() -> None:
    text = "base: &b {kind: generic, place: x}\ndev:\n  <<: *b\n  place: y\n"
    doc, issues = parse_yaml(text, "m.yaml")

    assert issues == []
    assert doc is not None
    assert doc.data["dev"] == {"kind": "generic", "place": "y"}
    assert doc.entries[("dev", "kind")].value == Mark(1, 17)  # where the anchor wrote it


def test_unquoted_on_key_is_reported_with_a_quoting_hint() -> None:
    doc, issues = parse_yaml("points:\n  on: {path: x}\n  'off': {path: y}\n", "p.yaml")

    assert [str(i) for i in issues] == [
        "p.yaml:2:3: points.on: unquoted key on is read as the boolean true (YAML 1.1); "
        "quote it: 'on'"
    ]
    assert doc is not None
    assert doc.data == {"points": {True: {"path": "x"}, "off": {"path": "y"}}}


def test_y_and_n_stay_strings_as_pyyaml_reads_them() -> None:
    doc, issues = parse_yaml("y: n\n", "x.yaml")

    assert issues == []
    assert doc is not None
    assert doc.data == {"y": "n"}
    assert not is_yaml11_bool("y")
    assert is_yaml11_bool("Off")


def test_syntax_error_carries_pyyaml_problem_mark() -> None:
    doc, issues = parse_yaml("a: 1\nb: c: d\n", "s.yaml")

    assert doc is None
    assert [str(i) for i in issues] == [
        "s.yaml:2:5: -: invalid YAML: mapping values are not allowed here"
    ]


def test_tab_used_for_indentation_has_a_clear_message() -> None:
    _, issues = parse_yaml("bridge:\n\tid: z2m\n", "t.yaml")

    assert [str(i) for i in issues] == [
        "t.yaml:2:1: -: tabs are not allowed for indentation; use spaces"
    ]


def test_tab_after_a_key_is_not_called_indentation() -> None:
    _, issues = parse_yaml("id:\tz2m\n", "t.yaml")

    assert [str(i) for i in issues] == ["t.yaml:1:4: -: a tab is not allowed here; use spaces"]


def test_tab_inside_a_block_scalar_is_content() -> None:
    doc, issues = parse_yaml("body: |\n  a\n  \tb\n", "t.yaml")

    assert issues == []
    assert doc is not None
    assert doc.data == {"body": "a\n\tb\n"}


def test_second_document_is_refused() -> None:
    doc, issues = parse_yaml("a: 1\n---\nb: 2\n", "two.yaml")

    assert doc is None
    assert [(i.line, i.column) for i in issues] == [(2, 1)]
    assert "second YAML document" in issues[0].message


def test_recursive_alias_is_an_issue_not_a_hang() -> None:
    doc, issues = parse_yaml("a: &x [1, *x]\n", "r.yaml")

    assert doc is None
    assert [(i.line, i.column) for i in issues] == [(1, 4)]


def test_unknown_tag_is_an_issue() -> None:
    doc, issues = parse_yaml("a: !include other.yaml\n", "r.yaml")

    assert doc is None
    assert [(i.line, i.column) for i in issues] == [(1, 4)]
    assert "!include" in issues[0].message


def test_control_character_is_located() -> None:
    doc, issues = parse_yaml("a: 1\nb: x\x07y\n", "c.yaml")

    assert doc is None
    assert [str(i) for i in issues] == ["c.yaml:2:5: -: character U+0007 is not allowed in YAML"]


def test_empty_document_is_none_at_the_file_start() -> None:
    doc, issues = parse_yaml("# nothing yet\n", "e.yaml")

    assert issues == []
    assert doc is not None
    assert doc.data is None
    assert doc.entry(()).value == Mark(1, 1)


def test_a_scalar_that_looks_like_a_bad_date_is_an_issue() -> None:
    doc, issues = parse_yaml("name: 2024-13-45\n", "d.yaml")

    assert doc is None
    assert [str(i) for i in issues] == [
        "d.yaml:1:7: -: invalid YAML: cannot read '2024-13-45' as timestamp "
        "(month must be in 1..12); quote it: '2024-13-45'"
    ]
