"""Checks that no single file's schema can make: between files, and against the catalogues.

They run on the raw YAML data, not on the validated models: a device with one bad
field is still a device whose id, place and points can be checked, so one bad item
never hides the others and the installer fixes everything in one pass.

What is checked, and why it cannot be left to pydantic:

* ids are unique across files (places, bridges, devices, rules, usernames), and a
  ``source`` once per bridge — otherwise one device's readings land on another;
* places, kinds, devices and points that rules and memberships refer to exist;
* a point's ``from_unit`` converts to its canonical unit, its ``map`` yields values of
  its type and only a number has a ``range`` — each needs the kind catalogue
  (``devices.kinds.KINDS``) and the unit table (``devices.units``), read at run time
  so that a kind added there is known here without a change;
* a rule's ``is:``/``above:``/``below:`` can hold for the type of the point it watches;
* binary layouts compile and each bridge's decoder can be built, so that a file
  ``palier validate`` accepts is one the gateway can start with;
* templates parse.

Every report points at the offending value; a duplicate also names the first one.
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import ValidationError

from devices.kinds import KINDS, PointDef
from devices.schema import BRIDGE_FORMATS, BridgeFile
from devices.units import UNITS, convertible
from firmware_bridge.binary_layout import CompiledLayout
from firmware_bridge.families import FAMILIES, make_decoder
from firmware_bridge.layout_schema import Layout
from gateway.config.errors import ConfigIssue, Loc, describe, did_you_mean
from gateway.config.yaml_positions import YamlDocument, quote_advice
from social.site import PlaceNode

#: The roles a membership may carry (see DESIGN.md, "Places: the variable geometry").
ROLES: tuple[str, ...] = (
    "resident", "owner", "tenant", "manager", "syndic", "landlord", "installer",
    "merchant", "association", "municipality", "moderator", "admin",
)

#: LoRaWAN application ports: 0 carries MAC commands only, 224 and up are reserved.
F_PORTS = range(1, 224)

_POINT_TYPES = ("bool", "number", "text")
_HOLDS = {"bool": "true or false", "number": "numbers", "text": "text"}
_MAP_TO = {"bool": "map to true or false", "number": "map to a number", "text": "map to text"}


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
    #: Every point the device has (its kind's and its declared ones) and the point's
    #: type; None where the type cannot be told (a device of an unknown kind).
    points: dict[str, str | None]


@dataclass
class CrossChecks:
    """Checks between files; call ``site``, ``devices``, ``rules``, ``members`` in order.

    ``issues`` collects errors and warnings alike; the loader sorts them out.
    """

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
            self._bridge(doc)
            sources: list[_Value] = []
            for i, raw in _items(doc, ("devices",)):
                loc = ("devices", i)
                kind = _text(raw.get("kind"))
                device = _Device(
                    id=_string(doc, (*loc, "id")),
                    kind=kind,
                    place=_text(raw.get("place")),
                    points=self._device_points(doc, loc, kind),
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
                self._device_layouts(doc, loc, bridge_id)
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
                                       f"{', '.join(ROLES)}{did_you_mean(role.text, ROLES)}")
        self._unique("username", usernames)

    # --- bridges and their layouts

    def _bridge(self, doc: YamlDocument) -> None:
        """Layouts compile, and the family's decoder accepts what the schema accepted."""
        layouts_ok = True
        fmt = _text(doc.value_at(("bridge", "format")))
        if fmt == "binary":
            layouts_ok = self._layout(doc, ("bridge", "layout"))
        elif fmt == "ttn_v3":
            layouts_ok = self._layouts(doc, ("bridge", "layouts"))
        if not layouts_ok or fmt not in FAMILIES:  # a family not registered yet: no decoder
            return
        try:
            spec = BridgeFile.model_validate({"bridge": doc.value_at(("bridge",))}).bridge
        except ValidationError:
            return  # already reported, field by field
        try:
            make_decoder(spec)  # without devices: their own layouts were compiled one by one
        except ValueError as exc:
            reason = str(exc).removeprefix(f"bridge {spec.id!r}: ")
            self.issues.append(doc.issue(("bridge",), reason))

    def _device_layouts(self, doc: YamlDocument, loc: Loc, bridge_id: _Value | None) -> None:
        fmt = _text(doc.value_at(("bridge", "format")))
        own = doc.value_at((*loc, "layouts"))
        if fmt is None or fmt not in BRIDGE_FORMATS:
            return
        if fmt != "ttn_v3":
            if own:
                self.issues.append(doc.issue((*loc, "layouts"), "layouts apply to devices of a "
                                             f"ttn_v3 bridge; this bridge is {fmt}"))
            return
        self._layouts(doc, (*loc, "layouts"))
        bridge_layouts = doc.value_at(("bridge", "layouts"))
        bridge = doc.value_at(("bridge",))
        said_none = isinstance(bridge, dict) and "layouts" in bridge  # ``layouts: {}``
        if not own and not bridge_layouts and not said_none:
            name = f"bridge '{bridge_id.text}'" if bridge_id else "its bridge"
            self.issues.append(doc.issue(
                (*loc, "layouts"),
                f"neither this device nor {name} declares layouts, so an uplink with "
                "frm_payload but no decoded_payload will be rejected; write layouts: {} on "
                "the bridge if a payload formatter decodes every uplink",
                severity="warning",
            ))

    def _layouts(self, doc: YamlDocument, loc: Loc) -> bool:
        """The layouts by f_port at ``loc``; False when one of them cannot be used."""
        by_port = doc.value_at(loc)
        ok = True
        if not isinstance(by_port, dict):
            return ok
        for port in by_port:
            if isinstance(port, int) and not isinstance(port, bool) and port not in F_PORTS:
                self.issues.append(doc.issue((*loc, port), f"f_port {port} is not an "
                                             "application port; use 1 to 223", at_key=True))
                ok = False
            ok = self._layout(doc, (*loc, port)) and ok
        return ok

    def _layout(self, doc: YamlDocument, loc: Loc) -> bool:
        """Compile each field alone, so that a scale that overflows is reported at its field."""
        try:
            layout = Layout.model_validate(doc.value_at(loc))
        except ValidationError:
            return False  # reported by the file's own validation
        ok = True
        for i, f in enumerate(layout.fields):
            try:
                CompiledLayout(Layout(endianness=layout.endianness, fields=[f]))
            except ValueError as exc:
                raw = doc.value_at((*loc, "fields", i))
                part = "scale" if isinstance(raw, dict) and "scale" in raw else "offset"
                self.issues.append(doc.issue((*loc, "fields", i, part), str(exc)))
                ok = False
        return ok

    # --- points

    def _device_points(
        self, doc: YamlDocument, loc: Loc, kind: str | None
    ) -> dict[str, str | None]:
        """The device's points and their types, checking each declared one on the way."""
        kind_def = KINDS.get(kind) if kind else None
        base: dict[str, PointDef] = {p.name: p for p in kind_def} if kind_def else {}
        points: dict[str, str | None] = {name: p.type for name, p in base.items()}
        declared = doc.value_at((*loc, "points"))
        if not isinstance(declared, dict):
            return points
        for name, spec in declared.items():
            if not isinstance(name, str):
                continue
            spec = spec if isinstance(spec, dict) else {}
            written = spec.get("type")
            if written in _POINT_TYPES:
                ptype: str | None = written
            elif name in base:
                ptype = base[name].type
            else:  # the registry's default for a new point; unknowable for an unknown kind
                ptype = "number" if kind_def is not None and written is None else None
            points[name] = ptype
            self._point(doc, (*loc, "points", name), name, spec, ptype, base.get(name), kind)
        return points

    def _point(
        self, doc: YamlDocument, at: Loc, name: str, spec: dict[Hashable, Any],
        ptype: str | None, base: PointDef | None, kind: str | None,
    ) -> None:
        unit = spec.get("unit")
        written = unit if isinstance(unit, str) and unit else None
        canonical = written or (base.unit if base else "")  # as the registry resolves it
        if base and base.unit and isinstance(unit, str) and unit and unit != base.unit:
            hint = (f"; to read {unit} from the device, write from_unit: {unit}"
                    if convertible(unit, base.unit) else "")
            self.issues.append(doc.issue((*at, "unit"), f"{name} of a {kind} is stored in "
                                         f"{base.unit}, not {unit}{hint}"))
            canonical = base.unit
        from_unit = spec.get("from_unit")
        if isinstance(from_unit, str) and from_unit:
            problem = self._from_unit(name, from_unit, canonical, ptype)
            if problem:
                self.issues.append(doc.issue((*at, "from_unit"), problem))
        value_map = spec.get("map")
        if isinstance(value_map, dict) and ptype is not None:
            for key, value in value_map.items():
                if isinstance(key, str) and not _fits(value, ptype):
                    where = (*at, "map", key)
                    self.issues.append(doc.issue(where, (
                        f"{describe(value)} does not fit {ptype} point {name}; {_MAP_TO[ptype]}"
                        f"{quote_advice(doc.entry(where), value) if ptype == 'text' else ''}")))
        if "range" in spec and ptype not in (None, "number"):
            self.issues.append(doc.issue((*at, "range"), f"range applies to number points; "
                                         f"{name} is a {ptype} point"))

    @staticmethod
    def _from_unit(name: str, from_unit: str, canonical: str, ptype: str | None) -> str | None:
        if ptype not in (None, "number"):
            return f"from_unit applies to number points; {name} is a {ptype} point"
        if from_unit not in UNITS:  # no did-you-mean: between 'lx' and 'l' it misleads
            return f"unknown unit '{from_unit}'; known units: {', '.join(sorted(UNITS))}"
        if not canonical:  # with an unknown kind or type, the unit may well be the kind's
            return None if ptype is None else (
                f"from_unit {from_unit}: point {name} has no unit to convert to; "
                "give it one with unit")
        if from_unit == canonical or convertible(from_unit, canonical):
            return None
        if canonical not in UNITS:
            return f"cannot convert {from_unit} to {canonical}: Palier knows no unit {canonical}"
        return (f"cannot convert {from_unit} to {canonical}: {from_unit} measures "
                f"{UNITS[from_unit].dimension}, {canonical} {UNITS[canonical].dimension}")

    # --- rules in detail

    def _rule_when(self, doc: YamlDocument, loc: Loc) -> None:
        device_v = _string(doc, (*loc, "when", "device"))
        kind_v = _string(doc, (*loc, "when", "kind"))
        place_v = _string(doc, (*loc, "when", "place"))
        device = self.devices_by_id.get(device_v.text) if device_v else None
        if device_v and device is None and self.devices_complete:
            self._report(device_v, f"unknown device '{device_v.text}'"
                                   f"{did_you_mean(device_v.text, self.devices_by_id)}")
        if kind_v:
            self._rule_kind(kind_v, device_v, device)
        if place_v:
            self._check_place(place_v)
        known = self._points(device_v, device, kind_v, place_v)
        if known is None:
            return
        points, subject = known
        watched = _string(doc, (*loc, "when", "point"))
        for cond in ((*loc, "when"), (*loc, "clear", "when")):
            point = _string(doc, (*cond, "point"))
            if point and point.text not in points:
                listed = ", ".join(sorted(points)) or "none"
                self._report(point, f"unknown point '{point.text}' {subject}; "
                                    f"known points: {listed}")
                continue
            name = point.text if point else watched.text if watched else None
            types = points.get(name) if name else None
            if name and types and None not in types:
                self._rule_test(doc, cond, name, types)

    def _rule_test(self, doc: YamlDocument, cond: Loc, point: str, types: set[str | None]) -> None:
        """A test of another type than the point's never holds: ``is: 'on'`` on a bool."""
        holds = " or ".join(_HOLDS[t] for t in sorted(types) if t)
        condition = doc.value_at(cond)
        if not isinstance(condition, dict):
            return
        value = condition.get("is")
        if isinstance(value, bool | int | float | str) and _type_of(value) not in types:
            at = (*cond, "is")
            self.issues.append(doc.issue(at, (
                f"{describe(value)} never matches: point '{point}' holds {holds}, "
                f"not {_HOLDS[_type_of(value)]}{quote_advice(doc.entry(at), value)}")))
        for test in ("above", "below"):
            if condition.get(test) is not None and "number" not in types:
                self.issues.append(doc.issue((*cond, test), (
                    f"{test} never holds: point '{point}' holds {holds}, not numbers")))

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
    ) -> tuple[dict[str, set[str | None]], str] | None:
        """The points a rule may watch with their types, and how to name what it watches.

        None: cannot tell, because what the rule selects is itself unknown.
        """
        if device_v:
            if device is None or device.kind not in KINDS:
                return None
            return (_merge([device]), f"for device '{device_v.text}' ({device.kind})")
        if not self.devices_complete:  # an unreadable bridge file may declare the point
            return None
        if kind_v:
            if kind_v.text not in KINDS:
                return None
            of_kind = [d for d in self.all_devices if d.kind == kind_v.text]
            points = _merge(of_kind)
            for p in KINDS[kind_v.text]:
                points.setdefault(p.name, {p.type})
            return points, f"for kind {kind_v.text}"
        if place_v and self.places is None:
            return None
        matched = [d for d in self.all_devices
                   if d.kind in KINDS and (place_v is None or self._under(d.place, place_v.text))]
        if not matched:
            return None
        where = f" at or under {place_v.text}" if place_v else ""
        return _merge(matched), f"(no device{where} has it)"

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
            value = doc.value_at(at)
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


def _merge(devices: list[_Device]) -> dict[str, set[str | None]]:
    """Point name -> every type it has on these devices."""
    points: dict[str, set[str | None]] = {}
    for device in devices:
        for name, ptype in device.points.items():
            points.setdefault(name, set()).add(ptype)
    return points


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "text"


def _fits(value: Any, ptype: str) -> bool:
    """Whether a ``map`` value is a canonical value of the point's type.

    Stricter than the registry, which also turns "ON" into true after mapping: a map
    exists to produce canonical values, so one that yields "ON" is a half-done map.
    """
    if ptype == "bool":
        return isinstance(value, bool)
    if ptype == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


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


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _string(doc: YamlDocument, loc: Loc) -> _Value | None:
    value = doc.value_at(loc)
    return _Value(doc, loc, value) if isinstance(value, str) else None


def _items(doc: YamlDocument, loc: Loc) -> Iterator[tuple[int, dict[Hashable, Any]]]:
    """The mappings of the list at ``loc``, with their indexes; anything else is skipped."""
    value = doc.value_at(loc)
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield i, item
