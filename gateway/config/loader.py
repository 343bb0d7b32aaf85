"""Loading an installation directory, with every mistake reported at once.

Layout::

    site.yaml           required: the places (social.site.SiteFile)
    bridges/*.yaml      one bridge and its devices each (devices.schema.BridgeFile)
    rules/*.yaml        rules (rules.schema.RuleFile)
    members.yaml        optional: accounts created at start-up (MembersFile)

Each file is parsed once with positions (:mod:`gateway.config.yaml_positions`) and
validated by its pydantic model, whose errors are mapped back to ``line:column``.
Cross-file checks (places, ids, kinds, points, templates) then run on the raw data,
not on the models: a device with one bad field is still a device whose id, place
and points can be checked, so one bad item never hides the others. The installer
fixes everything in one pass instead of one error per restart.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from devices.kinds import KINDS
from devices.schema import ID_PATTERN, BridgeFile
from gateway.config.errors import ConfigError, ConfigIssue, Loc, field_name
from gateway.config.installation import Installation, MembersFile
from gateway.config.yaml_positions import (
    Entry,
    YamlDocument,
    is_yaml11_bool,
    parse_yaml,
    quote_hint,
)
from rules.schema import RuleFile
from social.site import PlaceNode, SiteFile, expand_site

SITE_FILE = "site.yaml"
MEMBERS_FILE = "members.yaml"
BRIDGES_DIR = "bridges"
RULES_DIR = "rules"

#: The roles a membership may carry (see DESIGN.md, "Places: the variable geometry").
ROLES: tuple[str, ...] = (
    "resident", "owner", "tenant", "manager", "syndic", "landlord", "installer",
    "merchant", "association", "municipality", "moderator", "admin",
)

M = TypeVar("M", bound=BaseModel)


def load_installation(root: Path) -> Installation:
    """The installation under ``root``; raises :class:`ConfigError` listing every issue."""
    if not root.is_dir():
        problem = "not a directory" if root.exists() else "no such directory"
        raise ConfigError([ConfigIssue(str(root), 1, 1, "-", problem)])
    issues: list[ConfigIssue] = []
    site = _load(root, SITE_FILE, SiteFile, issues)
    bridges = [_load(root, rel, BridgeFile, issues)
               for rel in _yaml_files(root, BRIDGES_DIR, issues)]
    rules = [_load(root, rel, RuleFile, issues) for rel in _yaml_files(root, RULES_DIR, issues)]
    members = None
    if (root / MEMBERS_FILE).exists():
        members = _load(root, MEMBERS_FILE, MembersFile, issues)

    places = {node.id: node for node in expand_site(site.model)} if site.model else None
    checks = _CrossCheck(places, root)
    checks.site(site.doc)
    checks.devices([b.doc for b in bridges])
    checks.rules([r.doc for r in rules])
    if members is not None:
        checks.members(members.doc)
    issues += checks.issues
    if issues:
        raise ConfigError(issues)

    assert site.model is not None and places is not None
    return Installation(
        root=root,
        site=site.model,
        places=places,
        bridges=tuple(b.model for b in bridges if b.model),
        rules=tuple(rule for r in rules if r.model for rule in r.model.rules),
        members=tuple(members.model.members) if members and members.model else (),
    )


# --- files ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Loaded(Generic[M]):
    doc: YamlDocument | None
    model: M | None


def _yaml_files(root: Path, sub: str, issues: list[ConfigIssue]) -> list[str]:
    """``sub/*.yaml`` in sorted order; a ``.yml`` file is an issue rather than silently skipped."""
    folder = root / sub
    if not folder.is_dir():
        return []
    try:
        paths = sorted(folder.iterdir())
    except OSError as exc:
        issues.append(ConfigIssue(str(folder), 1, 1, "-", f"cannot list: {exc.strerror or exc}"))
        return []
    found = []
    for path in paths:
        if path.name.startswith("."):  # editor lock files, macOS resource forks
            continue
        if path.suffix == ".yml":
            issues.append(ConfigIssue(str(root / sub / path.name), 1, 1, "-",
                                      "ignored: name it .yaml to have it loaded"))
        elif path.suffix == ".yaml":
            found.append(f"{sub}/{path.name}")
    return found


def _load(root: Path, rel: str, model: type[M], issues: list[ConfigIssue]) -> _Loaded[M]:
    path = str(root / rel)
    text = _read_text(root / rel, path, issues)
    if text is None:
        return _Loaded(None, None)
    doc, yaml_issues = parse_yaml(text, path)
    issues += yaml_issues
    if doc is None:
        return _Loaded(None, None)
    data = {} if doc.data is None else doc.data  # an empty file is a mapping with no keys
    try:
        return _Loaded(doc, model.model_validate(data))
    except ValidationError as exc:
        issues += translate_errors(doc, model, exc.errors(include_url=False))
        return _Loaded(doc, None)


def _read_text(file: Path, path: str, issues: list[ConfigIssue]) -> str | None:
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        issues.append(ConfigIssue(path, 1, 1, "-", "file not found"))
        return None
    except IsADirectoryError:
        issues.append(ConfigIssue(path, 1, 1, "-", "is a directory, expected a YAML file"))
        return None
    except OSError as exc:
        issues.append(ConfigIssue(path, 1, 1, "-", f"cannot read: {exc.strerror or exc}"))
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        issues.append(ConfigIssue(path, line, column, "-",
                                  f"not UTF-8 text (byte 0x{raw[exc.start]:02x})"))
        return None


# --- pydantic errors -> issues ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Located:
    """A pydantic error with union tags stripped from its ``loc``, so it indexes the data."""

    error: ErrorDetails
    data_loc: Loc
    owner: type[BaseModel] | None  # the model whose field the loc names last
    union_at: Loc | None  # the value a union was tried on, if any
    is_key: bool  # the error is about a dict key (``[key]``), not its value


def translate_errors(
    doc: YamlDocument, model: type[BaseModel], errors: list[ErrorDetails]
) -> list[ConfigIssue]:
    """Plain-English issues at YAML positions for pydantic's errors on ``doc.data``."""
    located = [_locate(model, err) for err in errors]
    located = [item for item in located if not _under_bool_key(doc, item.data_loc)]
    issues: list[ConfigIssue] = []
    unions: dict[Loc, list[_Located]] = {}
    for item in located:
        if item.union_at is None:
            issues.append(_issue_for(doc, item))
        else:
            unions.setdefault(item.union_at, []).append(item)
    for at, group in unions.items():
        deeper = [item for item in group if len(item.data_loc) > len(at)]
        if deeper:  # the installer wrote the structure of one union member: judge it as that
            issues += [_issue_for(doc, item) for item in deeper]
        else:
            issues.append(_union_issue(doc, at, group))
    return issues


def _locate(model: type[BaseModel], err: ErrorDetails) -> _Located:
    data_loc: list[Hashable] = []
    owner: type[BaseModel] | None = None
    union_at: Loc | None = None
    is_key = False
    tp: Any = model
    for part in err["loc"]:
        if part == "[key]":
            is_key = True
            continue
        tp, members = _unwrap(tp)
        if members is not None:  # the part names the union member tried
            union_at = union_at if union_at is not None else tuple(data_loc)
            tp = next((m for m in members if getattr(m, "__name__", None) == part), None)
            continue
        data_loc.append(part)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            owner = tp
            tp = _field_type(tp, part)
        elif typing.get_origin(tp) in (list, tuple):
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            tp = None
    return _Located(err, tuple(data_loc), owner, union_at, is_key)


def _unwrap(tp: Any) -> tuple[Any, list[Any] | None]:
    """The type with ``Annotated`` and ``| None`` removed; its members when a real union."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [arg for arg in typing.get_args(tp) if arg is not type(None)]
            if len(members) > 1:
                return tp, members
            tp = members[0]
        else:
            return tp, None


def _field_type(model: type[BaseModel], name: Hashable) -> Any:
    for attr, info in model.model_fields.items():
        if name in (info.alias, attr):
            return info.annotation
    return None


def _field_names(model: type[BaseModel]) -> list[str]:
    """Fields by the names written in YAML (``is``, ``for``, ``raise``), in declaration order."""
    return [info.alias or name for name, info in model.model_fields.items()]


def _under_bool_key(doc: YamlDocument, loc: Loc) -> bool:
    """True below an unquoted ``on:`` key, already reported by the YAML parser."""
    for end in range(1, len(loc) + 1):
        entry = doc.entries.get(loc[:end])  # pydantic writes the key true as 1: equal, same hash
        if not isinstance(loc[end - 1], str) and entry and is_yaml11_bool(entry.key_text):
            return True
    return False


_NOUNS = {
    "string_type": "a string",
    "bool_type": "a boolean",
    "bool_parsing": "a boolean",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "dict_type": "a mapping",
    "list_type": "a list",
}


def _issue_for(doc: YamlDocument, item: _Located) -> ConfigIssue:
    err, loc = item.error, item.data_loc
    kind = err["type"]
    entry = doc.entry(loc)
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "missing":  # point at the mapping that lacks the field
        mark = doc.entry(loc[:-1]).value
        return ConfigIssue(doc.path, mark.line, mark.column, field_name(loc), "field required")
    if kind == "extra_forbidden":
        names = _field_names(item.owner) if item.owner else []
        message = "unknown field"
        if names:
            message += f"; expected one of: {', '.join(names)}{_did_you_mean(str(loc[-1]), names)}"
        return doc.issue(loc, message, at_key=True)
    if item.is_key or kind == "invalid_key":
        key = entry.key_text if entry.key_text is not None else loc[-1]
        message = f"a key must be a string, got {_got(loc[-1])}"
        if entry.key_text is not None:
            message += f"; {quote_hint(str(key))}"
        return doc.issue(loc, message, at_key=True)
    if kind in _NOUNS:
        noun = _NOUNS[kind] + (" (true or false)" if _NOUNS[kind] == "a boolean" else "")
        message = f"expected {noun}, got {_got(value)}"
        if kind == "string_type":
            message += _quote_advice(entry, value)
        return doc.issue(loc, message)
    return doc.issue(loc, _message(kind, value, ctx, err["msg"]))


def _message(kind: str, value: Any, ctx: dict[str, Any], fallback: str) -> str:
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind == "literal_error":
        return f"expected {ctx['expected']}, got {_got(value)}"
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") == ID_PATTERN:
            return (f"{_got(value)} is not a valid id; use lower-case letters, digits, "
                    "'.', '_' and '-', starting with a letter or a digit")
        return f"{_got(value)} does not match the pattern {ctx.get('pattern')}"
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return "must not be empty" if n == 1 else f"must be at least {n} characters long"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long"
    if kind in ("too_short", "too_long"):
        n = ctx.get("min_length" if kind == "too_short" else "max_length")
        bound = "at least" if kind == "too_short" else "at most"
        return f"must have {bound} {n} item{'' if n == 1 else 's'}"
    bounds = {"greater_than_equal": ("ge", "at least"), "greater_than": ("gt", "more than"),
              "less_than_equal": ("le", "at most"), "less_than": ("lt", "less than")}
    if kind in bounds:
        key, words = bounds[kind]
        return f"must be {words} {ctx.get(key)}, got {_got(value)}"
    return fallback[:1].lower() + fallback[1:]


def _union_issue(doc: YamlDocument, at: Loc, group: list[_Located]) -> ConfigIssue:
    nouns = list(dict.fromkeys(_NOUNS[i.error["type"]] for i in group if i.error["type"] in _NOUNS))
    if "a number" in nouns and "a whole number" in nouns:
        nouns.remove("a whole number")
    if not nouns:
        return _issue_for(doc, group[0])
    value = group[0].error.get("input")
    expected = nouns[0] if len(nouns) == 1 else f"{', '.join(nouns[:-1])} or {nouns[-1]}"
    message = f"expected {expected}, got {_got(value)}"
    if "a string" in nouns:
        message += _quote_advice(doc.entry(at), value)
    return doc.issue(at, message)


def _quote_advice(entry: Entry, value: Any) -> str:
    """Why a string became something else, for a plain scalar: ``on`` is true in YAML 1.1."""
    if entry.text is None or entry.empty or isinstance(value, str | dict | list):
        return ""
    if isinstance(value, bool) and is_yaml11_bool(entry.text):
        return (f" (YAML 1.1 reads an unquoted {entry.text} as {_got(value)});"
                f" {quote_hint(entry.text)}")
    return f"; {quote_hint(entry.text)}"


def _got(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


# --- cross-file checks ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Value:
    """A string from the raw data and where it was written."""

    doc: YamlDocument
    loc: Loc
    text: str


@dataclass(slots=True)
class _Device:
    id: _Value | None
    kind: str | None
    place: str | None
    points: set[str]


@dataclass
class _CrossCheck:
    """Checks between files; each reports at the offending value, naming the first one."""

    places: dict[str, PlaceNode] | None  # None when site.yaml is unusable: skip place checks
    root: Path
    issues: list[ConfigIssue] = field(default_factory=list)
    devices_by_id: dict[str, _Device] = field(default_factory=dict)
    all_devices: list[_Device] = field(default_factory=list)
    #: False when a bridge file could not be parsed: its devices are unknown, so a rule's
    #: device, kind or point cannot be called missing without crying wolf.
    devices_complete: bool = True
    jinja: SandboxedEnvironment = field(default_factory=SandboxedEnvironment)

    def site(self, doc: YamlDocument | None) -> None:
        if doc is None:
            return
        ids = [_string(doc, ("city", "id"))]
        for n, _ in _items(doc, ("neighbourhoods",)):
            ids.append(_string(doc, ("neighbourhoods", n, "id")))
            for b, _ in _items(doc, ("neighbourhoods", n, "buildings")):
                ids.append(_string(doc, ("neighbourhoods", n, "buildings", b, "id")))
        self._unique("place id", [v for v in ids if v is not None])

    def devices(self, docs: list[YamlDocument | None]) -> None:
        bridge_ids: list[_Value] = []
        device_ids: list[_Value] = []
        for doc in docs:
            if doc is None:
                self.devices_complete = False
                continue
            bridge_id = _string(doc, ("bridge", "id"))
            if bridge_id:
                bridge_ids.append(bridge_id)
            sources: list[_Value] = []
            for i, raw in _items(doc, ("devices",)):
                loc = ("devices", i)
                points = raw.get("points")
                device = _Device(
                    id=_string(doc, (*loc, "id")),
                    kind=_text(raw.get("kind")),
                    place=_text(raw.get("place")),
                    points={p for p in points if isinstance(p, str)}
                    if isinstance(points, dict) else set(),
                )
                self.all_devices.append(device)
                if device.id:
                    device_ids.append(device.id)
                    self.devices_by_id.setdefault(device.id.text, device)
                source = _string(doc, (*loc, "source"))
                if source:
                    sources.append(source)
                place = _string(doc, (*loc, "place"))
                if place:
                    self._check_place(place)
            where = f" on bridge '{bridge_id.text}'" if bridge_id else ""
            self._unique("source", sources, where)
        self._unique("bridge id", bridge_ids)
        self._unique("device id", device_ids)

    def rules(self, docs: list[YamlDocument | None]) -> None:
        rule_ids: list[_Value] = []
        for doc in docs:
            if doc is None:
                continue
            for i, _ in _items(doc, ("rules",)):
                loc = ("rules", i)
                rule_id = _string(doc, (*loc, "id"))
                if rule_id:
                    rule_ids.append(rule_id)
                self._rule_when(doc, loc)
                self._rule_templates(doc, loc)
        self._unique("rule id", rule_ids)

    def members(self, doc: YamlDocument | None) -> None:
        if doc is None:
            return
        usernames: list[_Value] = []
        for m, _ in _items(doc, ("members",)):
            name = _string(doc, ("members", m, "username"))
            if name:
                usernames.append(name)
            for s, _ in _items(doc, ("members", m, "memberships")):
                loc = ("members", m, "memberships", s)
                place = _string(doc, (*loc, "place"))
                if place:
                    self._check_place(place)
                role = _string(doc, (*loc, "role"))
                if role and role.text not in ROLES:
                    self._report(role, f"unknown role '{role.text}'; known roles: "
                                       f"{', '.join(ROLES)}{_did_you_mean(role.text, ROLES)}")
        self._unique("username", usernames)

    # --- rules in detail

    def _rule_when(self, doc: YamlDocument, loc: Loc) -> None:
        device_v = _string(doc, (*loc, "when", "device"))
        kind_v = _string(doc, (*loc, "when", "kind"))
        place_v = _string(doc, (*loc, "when", "place"))
        device = self.devices_by_id.get(device_v.text) if device_v else None
        if device_v and device is None and self.devices_complete:
            self._report(device_v, f"unknown device '{device_v.text}'"
                                   f"{_did_you_mean(device_v.text, self.devices_by_id)}")
        if kind_v:
            self._rule_kind(kind_v, device_v, device)
        if place_v:
            self._check_place(place_v)
        known = self._points(device_v, device, kind_v, place_v)
        if known is None:
            return
        points, subject = known
        for point_loc in ((*loc, "when", "point"), (*loc, "clear", "when", "point")):
            point = _string(doc, point_loc)
            if point and point.text not in points:
                listed = ", ".join(sorted(points)) or "none"
                self._report(point, f"unknown point '{point.text}' {subject}; "
                                    f"known points: {listed}")

    def _rule_kind(self, kind_v: _Value, device_v: _Value | None, device: _Device | None) -> None:
        if kind_v.text not in KINDS:
            self._report(kind_v, f"unknown device kind '{kind_v.text}'; "
                                 f"known kinds: {', '.join(sorted(KINDS))}")
        elif not self.devices_complete:
            return
        elif not any(d.kind == kind_v.text for d in self.all_devices):
            self._report(kind_v, f"no device of kind {kind_v.text} in this installation")
        elif device_v and device and device.kind and device.kind != kind_v.text:
            self._report(kind_v, f"device '{device_v.text}' is a {device.kind}, "
                                 f"not a {kind_v.text}")

    def _points(
        self, device_v: _Value | None, device: _Device | None,
        kind_v: _Value | None, place_v: _Value | None,
    ) -> tuple[set[str], str] | None:
        """The points a rule may watch, and how to name what it watches; None: cannot tell."""
        if device_v:
            if device is None or device.kind not in KINDS:
                return None
            return (_kind_points(device.kind) | device.points,
                    f"for device '{device_v.text}' ({device.kind})")
        if not self.devices_complete:  # an unreadable bridge file may declare the point
            return None
        if kind_v:
            if kind_v.text not in KINDS:
                return None
            declared = set().union(*(d.points for d in self.all_devices if d.kind == kind_v.text))
            return _kind_points(kind_v.text) | declared, f"for kind {kind_v.text}"
        if place_v and self.places is None:
            return None
        points: set[str] = set()
        matched = False
        for d in self.all_devices:
            if d.kind in KINDS and (place_v is None or self._under(d.place, place_v.text)):
                points |= _kind_points(d.kind) | d.points
                matched = True
        if not matched:
            return None
        where = f" at or under {place_v.text}" if place_v else ""
        return points, f"(no device{where} has it)"

    def _under(self, place: str | None, ancestor: str) -> bool:
        places = self.places or {}
        node = places.get(place) if place else None
        while node is not None:
            if node.id == ancestor:
                return True
            node = places.get(node.parent_id) if node.parent_id else None
        return False

    def _rule_templates(self, doc: YamlDocument, loc: Loc) -> None:
        for part in ("title", "body"):
            at = (*loc, "raise", "post", part)
            value = _get(doc.data, at)
            texts = ([(at, value)] if isinstance(value, str) else
                     [((*at, lang), v) for lang, v in value.items() if isinstance(v, str)]
                     if isinstance(value, dict) else [])
            for text_loc, text in texts:
                try:
                    self.jinja.parse(text)  # syntax only: filters may be added by the rules engine
                except TemplateSyntaxError as exc:
                    where = f" (template line {exc.lineno})" if "\n" in text.strip() else ""
                    self.issues.append(doc.issue(text_loc, f"template error: {exc.message}{where}"))

    # --- shared

    def _check_place(self, value: _Value) -> None:
        if self.places is None or value.text in self.places:
            return
        self._report(value, f"unknown place '{value.text}' (not in site.yaml)"
                            f"{_place_hint(value.text, self.places)}")

    def _unique(self, what: str, values: list[_Value], where: str = "") -> None:
        first: dict[str, _Value] = {}
        for value in values:
            seen = first.setdefault(value.text, value)
            if seen is not value:
                self._report(value, f"duplicate {what} '{value.text}'{where} "
                                    f"(first defined at {self._at(seen)})")

    def _at(self, value: _Value) -> str:
        mark = value.doc.entry(value.loc).where
        path = Path(value.doc.path)
        try:
            shown = path.relative_to(self.root).as_posix()
        except ValueError:
            shown = str(path)
        return f"{shown}:{mark.line}:{mark.column}"

    def _report(self, value: _Value, message: str) -> None:
        self.issues.append(value.doc.issue(value.loc, message))


def _kind_points(kind: str | None) -> set[str]:
    return {point.name for point in KINDS.get(kind or "", ())}


def _place_hint(text: str, places: dict[str, PlaceNode]) -> str:
    """A nearby place id, else what exists where the id stops matching.

    Ids are paths, so whole-id similarity would suggest ``lilas/b/3`` for ``lilas/b/cave``
    only because they share ``lilas/b/``; the first wrong segment is what must be compared.
    """
    parts = text.split("/")
    depth = len(parts) - 1
    while depth > 0 and "/".join(parts[:depth]) not in places:
        depth -= 1  # climb to the deepest prefix that is a place
    head, wrong, rest = "/".join(parts[:depth]), parts[depth], parts[depth + 1:]
    if head:
        candidates = {p.rpartition("/")[2]: p for p, n in places.items() if n.parent_id == head}
    else:  # the city, a neighbourhood or a building is misspelt
        candidates = {p: p for p in places if "/" not in p}
    close = difflib.get_close_matches(wrong, list(candidates), n=1, cutoff=0.6)
    guess = "/".join([candidates[close[0]], *rest]) if close else None
    if guess in places:
        return f"; did you mean '{guess}'?"
    if not head:
        return ""
    listed = list(candidates.values())
    shown = ", ".join(listed[:12]) + (", ..." if len(listed) > 12 else "")
    return f"; places under {head}: {shown or 'none'}"


def _did_you_mean(text: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(text, list(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _get(data: Any, loc: Loc) -> Any:
    for part in loc:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _string(doc: YamlDocument, loc: Loc) -> _Value | None:
    value = _get(doc.data, loc)
    return _Value(doc, loc, value) if isinstance(value, str) else None


def _items(doc: YamlDocument, loc: Loc) -> Iterator[tuple[int, dict[Hashable, Any]]]:
    """The mappings of the list at ``loc``, with their indexes; anything else is skipped."""
    value = _get(doc.data, loc)
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield i, item
