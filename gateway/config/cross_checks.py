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
* a rule can fire: its test suits the type of the point it watches (``is``/``in`` that
  type, ``above``/``below``/``between``/``rate`` numbers), its selectors pick at least
  one device (with a battery for ``battery_low``, emitting the ``event`` with the data
  its ``match`` asks for), a count's ``at_least`` devices can share one group, its
  ``during`` window is not empty — a rule that validates and never fires is the
  worst kind of silence for a building;
* a rule's actions can be carried out: a ``command`` sets a writable point of an
  existing device to a value of its type, a ``notice`` has a unit to go to, escalation
  steps come in order, and every text compiles in the engine's Jinja sandbox;
* binary layouts compile and each bridge's decoder can be built, so that a file
  ``palier validate`` accepts is one the gateway can start with.

Warnings, not errors, for what works but rarely as meant: ``clear.after`` on a state
(it clears while the fault persists), an event rule without ``clear`` (it clears by
itself after ``rules.engine.DEFAULT_EVENT_CLEAR``) or with a ``clear`` that has no
``after`` (it never clears), a webhook over plain http to another machine, a
``post_update`` with no post to update, an escalation step after the alarm has
cleared by itself.

Every report points at the offending value; a duplicate also names the first one.
"""

from __future__ import annotations

import difflib
import re
import typing
from collections import Counter
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment
from pydantic import ValidationError

from devices.durations import format_duration, parse_duration
from devices.kinds import KINDS, PointDef
from devices.schema import BRIDGE_FORMATS, BridgeFile, IntercomEvent
from devices.units import UNITS, convertible
from firmware_bridge.binary_layout import CompiledLayout
from firmware_bridge.families import FAMILIES, make_decoder
from firmware_bridge.layout_schema import Layout
from gateway.config.errors import ConfigIssue, Loc, describe, did_you_mean
from gateway.config.yaml_positions import YamlDocument, quote_advice
from rules.engine import DEFAULT_EVENT_CLEAR
from rules.schema import PostAction, Reveal
from social.site import PlaceNode

#: The roles a membership may carry (see DESIGN.md, "Places: the variable geometry").
ROLES: tuple[str, ...] = (
    "resident", "owner", "tenant", "manager", "syndic", "landlord", "installer",
    "merchant", "association", "municipality", "moderator", "admin",
)

#: LoRaWAN application ports: 0 carries MAC commands only, 224 and up are reserved.
F_PORTS = range(1, 224)

#: The roles that may be on call: whoever answers for the building's equipment. An
#: escalation carries a manager's alarm, which residents and local actors never see.
ON_CALL_ROLES: tuple[str, ...] = ("manager", "syndic", "landlord", "installer", "admin")

INTERCOM_EVENTS: tuple[str, ...] = typing.get_args(IntercomEvent)

_POINT_TYPES = ("bool", "number", "text")
_HOLDS = {"bool": "true or false", "number": "numbers", "text": "text"}
_MAP_TO = {"bool": "map to true or false", "number": "map to a number", "text": "map to text"}
_ONE_OF = {"bool": "true or false", "number": "a number", "text": "text"}

#: Tests that compare numbers; ``is``/``in`` compare with the point's own type.
_NUMBER_TESTS = ("above", "below", "between", "rate")

#: How a rule condition's family is told by its keys, in the order ``rules.schema`` picks.
_FAMILY_KEYS = (("at_least", "count"), ("offline_for", "offline"), ("battery_low", "battery"),
                ("event", "event"))
_NO_POINT = {"offline": "an offline_for condition", "battery": "a battery_low condition",
             "event": "an event condition"}

#: What a count may group by, narrowest first.
_GROUPS = ("floor", "entrance", "building", "neighbourhood")

#: Where a rule holds texts rendered by the engine (Jinja2), relative to the rule.
_TEMPLATES: tuple[Loc, ...] = (
    ("name",),
    ("raise", "post", "title"), ("raise", "post", "body"),
    ("raise", "notice", "unit"), ("raise", "notice", "title"), ("raise", "notice", "body"),
    ("raise", "help_request", "title"), ("raise", "help_request", "body"),
    ("raise", "webhook", "body"),
    ("acknowledge", "post_update"), ("clear", "post_update"),
)

#: Texts residents read on the rule's post, where ``reveal`` applies.
_SHOWN_ON_THE_POST: frozenset[Loc] = frozenset({
    ("raise", "post", "title"), ("raise", "post", "body"),
    ("acknowledge", "post_update"), ("clear", "post_update"),
})
_DEFAULT_REVEAL: str = PostAction.model_fields["reveal"].default
_DEVICE_DETAILS = ("id", "name")
_REVEALS: tuple[str, ...] = typing.get_args(Reveal)

_TIME = re.compile(r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")


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
    bridge: str | None = None
    #: Each event the device can emit and the data fields it carries (None: not known).
    #: An intercom bridge emits only the events its ``events`` map; the whole dict is
    #: None when that list is unreadable, so that nothing is called missing from it.
    events: dict[str, frozenset[str] | None] | None = None

    @property
    def name(self) -> str:
        return f"device '{self.id.text}'" if self.id else "a device"

    def writable(self, point: str) -> bool:
        """Commands go to the kind's writable points; a declared point is read-only."""
        kind = KINDS.get(self.kind) if self.kind else None
        found = kind.point(point) if kind else None
        return bool(found and found.writable)


@dataclass(frozen=True, slots=True)
class _Selection:
    """A condition's selectors, to say in words what none of its devices does."""

    device_v: _Value | None
    device: _Device | None
    kind_v: _Value | None
    place_v: _Value | None

    def none_that(self, does: str, does_not: str) -> str:
        """``no intercom device emits parcel_delivered``, or of one device, ``does_not``."""
        if self.device_v and self.device:
            return f"device '{self.device_v.text}' ({self.device.kind}) {does_not}"
        what = f"{self.kind_v.text} device" if self.kind_v else "device"
        where = f" at or under {self.place_v.text}" if self.place_v else (
            "" if self.kind_v else " in this installation")
        return f"no {what}{where} {does}"


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
                    bridge=bridge_id.text if bridge_id else None,
                    events=_device_events(doc, kind),
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
                self._rule(doc, loc)
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
                elif role and role.text not in ON_CALL_ROLES and \
                        doc.value_at((*loc, "on_call")) is True:
                    roles = f"{', '.join(ON_CALL_ROLES[:-1])} or {ON_CALL_ROLES[-1]}"
                    self.issues.append(doc.issue((*loc, "on_call"), (
                        f"a {role.text} cannot be on call: managers' alarms go to "
                        f"{roles} memberships only")))
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

    def _rule(self, doc: YamlDocument, loc: Loc) -> None:
        """Every check of one rule; what its condition selects feeds the actions' checks."""
        when = (*loc, "when")
        family = _family(doc.value_at(when))
        inner, inner_family = (when, family)
        if family == "count":
            inner = (*when, "of")
            inner_family = _family(doc.value_at(inner))
            if inner_family == "count":  # a count of counts: the schema refuses it
                inner_family = None
        selected = self._condition(doc, inner, inner_family, (*loc, "clear", "when"))
        if family == "count":
            self._count(doc, when, inner_family, selected)
        clears_after = self._clear(doc, loc, inner_family)
        self._raise(doc, (*loc, "raise"), selected, family)
        self._escalation(doc, loc, clears_after)
        self._schedule(doc, (*loc, "during"))
        self._post_updates(doc, loc)
        self._rule_templates(doc, loc)

    def _condition(
        self, doc: YamlDocument, cond: Loc, family: str | None, clear_when: Loc
    ) -> list[_Device] | None:
        """Checks one device condition; the devices it selects, None when they cannot be told."""
        if family is None:
            return None
        device_v = _string(doc, (*cond, "device"))
        kind_v = _string(doc, (*cond, "kind"))
        place_v = _string(doc, (*cond, "place"))
        device = self.devices_by_id.get(device_v.text) if device_v else None
        if device_v and device is None and self.devices_complete:
            self._report(device_v, f"unknown device '{device_v.text}'"
                                   f"{did_you_mean(device_v.text, self.devices_by_id)}")
        if kind_v:
            self._rule_kind(kind_v, device_v, device)
        if place_v:
            self._check_place(place_v)
        self._rule_points(doc, cond, family, clear_when, device_v, device, kind_v, place_v)
        selected = self._selected(device_v, device, kind_v, place_v)
        what = _Selection(device_v, device, kind_v, place_v)
        if selected and family == "event":
            self._event(doc, cond, selected, what)
        elif selected and family == "battery":
            self._battery(doc, cond, selected, what)
        return selected

    def _selected(
        self, device_v: _Value | None, device: _Device | None,
        kind_v: _Value | None, place_v: _Value | None,
    ) -> list[_Device] | None:
        """The devices the selectors pick, as the engine picks them; None when unknowable.

        An empty pick is reported at ``place`` when the place is what empties it; an
        unknown device or a kind with no device is reported by the callers already.
        """
        if not self.devices_complete or (device_v and device is None):
            return None
        candidates = [device] if device else self.all_devices
        if kind_v:
            if kind_v.text not in KINDS:
                return None
            candidates = [d for d in candidates if d.kind == kind_v.text]
        if place_v is None:
            return candidates
        if self.places is None or place_v.text not in self.places:
            return None
        under = [d for d in candidates if self._under(d.place, place_v.text)]
        if candidates and not under:
            if device_v and device:
                if device.place not in self.places:
                    return under  # its own unknown place is reported at the device
                message = (f"device '{device_v.text}' is at {device.place}, "
                           f"not at or under {place_v.text}")
            else:
                message = f"no {kind_v.text if kind_v else 'device'} at or under {place_v.text}"
            self._report(place_v, message)
        return under

    def _rule_points(
        self, doc: YamlDocument, cond: Loc, family: str, clear_when: Loc,
        device_v: _Value | None, device: _Device | None,
        kind_v: _Value | None, place_v: _Value | None,
    ) -> None:
        """The points of the condition and of ``clear.when`` exist and suit their tests."""
        targets = [cond] if family == "point" else []
        if isinstance(doc.value_at(clear_when), dict):
            if family != "point" and _string(doc, (*clear_when, "point")) is None:
                self.issues.append(doc.issue(clear_when, (
                    f"give the point to test: {_NO_POINT[family]} has no point of its own "
                    "for clear.when to default to")))
            else:
                targets.append(clear_when)
        known = self._points(device_v, device, kind_v, place_v) if targets else None
        if known is None:
            return
        points, subject = known
        watched = _string(doc, (*cond, "point")) if family == "point" else None
        for at in targets:
            point = _string(doc, (*at, "point"))
            if point and point.text not in points:
                listed = ", ".join(sorted(points)) or "none"
                self._report(point, f"unknown point '{point.text}' {subject}; "
                                    f"known points: {listed}")
                continue
            name = point.text if point else watched.text if watched else None
            types = points.get(name) if name else None
            if name and types and None not in types:
                self._rule_test(doc, at, name, types)

    def _rule_test(self, doc: YamlDocument, cond: Loc, point: str, types: set[str | None]) -> None:
        """A test of another type than the point's never holds: ``is: 'on'`` on a bool."""
        holds = " or ".join(_HOLDS[t] for t in sorted(t for t in types if t))
        condition = doc.value_at(cond)
        if not isinstance(condition, dict):
            return
        values = [((*cond, "is"), condition.get("is"))]
        if isinstance(condition.get("in"), list):
            values += [((*cond, "in", n), v) for n, v in enumerate(condition["in"])]
        for at, value in values:
            if isinstance(value, bool | int | float | str) and _type_of(value) not in types:
                self.issues.append(doc.issue(at, (
                    f"{describe(value)} never matches: point '{point}' holds {holds}, "
                    f"not {_HOLDS[_type_of(value)]}{quote_advice(doc.entry(at), value)}")))
        for test in _NUMBER_TESTS:
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

    def _event(
        self, doc: YamlDocument, cond: Loc, selected: list[_Device], what: _Selection
    ) -> None:
        """Some device it selects emits the event, with the data its ``match`` asks for."""
        event_v = _string(doc, (*cond, "event"))
        if event_v is None or event_v.text not in INTERCOM_EVENTS:
            return  # the schema says which events exist
        event = event_v.text
        emitting = [d for d in selected if d.events is None or event in d.events]
        if emitting:
            self._event_match(doc, cond, event, emitting)
            return
        declaring = [d for d in selected if d.kind in KINDS and event in KINDS[d.kind].events]
        if declaring:
            bridges = sorted({d.bridge for d in declaring if d.bridge})
            named = " or ".join(f"'{b}'" for b in bridges) or "its bridge"
            hint = f"; map it in the events of bridge {named}"
        else:
            kinds = sorted(k for k, kind in KINDS.items() if event in kind.events)
            hint = f"; {event} comes from {' or '.join(kinds)} devices" if kinds else ""
        message = what.none_that(f"emits {event}", f"does not emit {event}")
        self._report(event_v, message + hint)

    def _event_match(
        self, doc: YamlDocument, cond: Loc, event: str, emitting: list[_Device]
    ) -> None:
        match = doc.value_at((*cond, "match"))
        if not isinstance(match, dict):
            return
        carried: set[str] = set()
        for device in emitting:
            keys = device.events.get(event) if device.events is not None else None
            if keys is None:
                return  # a bridge whose data is not known here
            carried |= keys
        listed = ", ".join(sorted(carried)) or "nothing"
        for key in match:
            if isinstance(key, str) and key not in carried:
                self.issues.append(doc.issue((*cond, "match", key), (
                    f"never matches: no {event} event carries '{key}' (they carry: {listed}); "
                    f"keep it with data: in the bridge's {event} mapping"), at_key=True))

    def _battery(self, doc: YamlDocument, cond: Loc, selected: list[_Device],
                 what: _Selection) -> None:
        if any(d.kind not in KINDS or {"battery", "battery_low"} & d.points.keys()
               for d in selected):
            return
        self.issues.append(doc.issue((*cond, "battery_low"), what.none_that(
            "has a battery or battery_low point", "has no battery or battery_low point")))

    def _count(self, doc: YamlDocument, when: Loc, family: str | None,
               selected: list[_Device] | None) -> None:
        """``at_least`` can hold: that many of the devices it counts share one group."""
        at_least = doc.value_at((*when, "at_least"))
        if (not isinstance(at_least, int) or isinstance(at_least, bool) or not selected
                or self.places is None):
            return
        per = doc.value_at((*when, "per"))
        per = per if per in _GROUPS else "entrance"
        if family == "point":
            point = _text(doc.value_at((*when, "of", "point")))
            selected = [d for d in selected if point in d.points]
        most = self._largest_group(selected, per)
        if not most or most >= at_least:
            return
        if len(selected) < at_least:
            counted = f"{len(selected)} device{'' if len(selected) == 1 else 's'}"
            message = f"at_least {at_least} never holds: it counts {counted} in all"
        elif most == 1:
            on = "on" if per == "floor" else "in"
            message = f"at_least {at_least} never holds: no two of the devices it counts " \
                      f"are {on} the same {per}"
        else:
            message = f"at_least {at_least} never holds: no {per} has more than {most} of " \
                      "the devices it counts"
        wider = next((g for g in _GROUPS[_GROUPS.index(per) + 1:]
                      if self._largest_group(selected, g) >= at_least), None)
        if wider:
            message += f"; per: {wider} counts them together"
        self.issues.append(doc.issue((*when, "at_least"), message))

    def _largest_group(self, devices: list[_Device], per: str) -> int:
        """As the engine groups them: by their place of kind ``per``, else their own place."""
        groups = Counter(self._kind_above(d.place, per) or d.place for d in devices if d.place)
        return max(groups.values(), default=0)

    def _clear(self, doc: YamlDocument, loc: Loc, family: str | None) -> float | None:
        """Warnings on how the alarm ends; returns the fixed delay after which it clears.

        An event is an instant: nothing makes it stop holding, so its alarm needs a delay
        (``clear.after``) where a state needs a test (``clear.when``) or none at all.
        """
        rule = doc.value_at(loc)
        if family is None or not isinstance(rule, dict):
            return None
        clear = rule.get("clear")
        if "clear" not in rule:
            if family != "event":
                return None
            default = format_duration(DEFAULT_EVENT_CLEAR, "en")
            self.issues.append(doc.issue((*loc, "when"), (
                f"an event has no end: this alarm clears by itself {default} after it is "
                "raised; write clear: {after: ...} to say how long it stays on the board"),
                severity="warning"))
            return DEFAULT_EVENT_CLEAR
        if not isinstance(clear, dict):
            return None
        after = _seconds(clear.get("after"))
        if after is not None and family != "event" and clear.get("when") is None:
            self.issues.append(doc.issue((*loc, "clear", "after"), (
                "clear.after ends the alarm after a fixed delay, even while the condition "
                "still holds; leave it out to clear when the condition stops holding"),
                severity="warning"))
        elif family == "event" and after is None and clear.get("when") is None:
            count = isinstance(doc.value_at((*loc, "when", "at_least")), int)
            if not count:  # a count's events age out of ``within``, which ends it
                self.issues.append(doc.issue((*loc, "clear"), (
                    "an event has no end, so without after this alarm never clears by "
                    "itself; give after: how long it stays on the board"), severity="warning"))
        return after

    def _raise(self, doc: YamlDocument, at: Loc, selected: list[_Device] | None,
               family: str | None) -> None:
        if not isinstance(doc.value_at(at), dict):
            return
        self._command(doc, (*at, "command"))
        self._notice(doc, (*at, "notice"), selected, family)
        self._webhook(doc, (*at, "webhook"))

    def _command(self, doc: YamlDocument, at: Loc) -> None:
        """An existing device, a point of it that accepts commands, a value of its type."""
        device_v = _string(doc, (*at, "device"))
        if device_v is None:
            return
        device = self.devices_by_id.get(device_v.text)
        if device is None:
            if self.devices_complete:
                self._report(device_v, f"unknown device '{device_v.text}'"
                                       f"{did_you_mean(device_v.text, self.devices_by_id)}")
            return
        point_v = _string(doc, (*at, "point"))
        if point_v is None or device.kind not in KINDS:
            return
        writable = sorted(p for p in device.points if device.writable(p))
        listed = (f"writable points: {', '.join(writable)}" if writable
                  else "it has no writable point")
        subject = f"device '{device_v.text}' ({device.kind})"
        if point_v.text not in device.points:
            self._report(point_v, f"unknown point '{point_v.text}' for {subject}; {listed}")
            return
        if not device.writable(point_v.text):
            self._report(point_v, f"point '{point_v.text}' of {subject} cannot be written; "
                                  f"{listed}")
            return
        ptype = device.points[point_v.text]
        value = doc.value_at((*at, "value"))
        if ptype and isinstance(value, bool | int | float | str) and not _fits(value, ptype):
            where = (*at, "value")
            advice = quote_advice(doc.entry(where), value) if ptype == "text" else ""
            self.issues.append(doc.issue(where, (
                f"{describe(value)} does not fit {ptype} point {point_v.text}; write "
                f"{_ONE_OF[ptype]}{advice}")))

    def _notice(self, doc: YamlDocument, at: Loc, selected: list[_Device] | None,
                family: str | None) -> None:
        """A private notice needs a unit: its ``unit``, else the raising device's own."""
        notice = doc.value_at(at)
        if not isinstance(notice, dict):
            return
        unit = notice.get("unit")
        if isinstance(unit, str):
            if "{" not in unit and self.places is not None:  # no template: a place id as is
                node = self.places.get(unit)
                if node is None:
                    self._check_place(_Value(doc, (*at, "unit"), unit))
                elif node.kind != "unit":
                    self.issues.append(doc.issue((*at, "unit"), (
                        f"{unit} is a {node.kind}, not a unit: a notice is private to "
                        "the residents of one unit")))
            return
        if unit is not None:
            return
        if family == "count":
            problem = "a count raises for a whole place, not for one device"
        elif selected and self.places is not None and not any(
                self._kind_above(d.place, "unit") for d in selected if d.place):
            problem = "no device this rule selects is in a unit"
        else:
            return
        self.issues.append(doc.issue(at, (
            f"a notice goes to the unit of the device that raised the alarm, but {problem}; "
            "give unit: the id of the unit (a template)")))

    def _webhook(self, doc: YamlDocument, at: Loc) -> None:
        url = _string(doc, (*at, "url"))
        if url is None:
            return
        parts = urlsplit(url.text)
        if parts.scheme == "http" and not _loopback(parts.hostname):
            self.issues.append(doc.issue((*at, "url"), (
                "plain http: the alarm travels unencrypted and the receiver is not "
                "authenticated; use https (http is for this machine only: localhost, "
                "127.0.0.1, ::1)"), severity="warning"))

    def _escalation(self, doc: YamlDocument, loc: Loc, clears_after: float | None) -> None:
        """Steps in the order they happen, each before the alarm clears by itself."""
        latest: float | None = None
        for i, _ in _items(doc, (*loc, "escalate")):
            at = (*loc, "escalate", i, "after")
            after = _seconds(doc.value_at(at))
            if after is None:
                continue
            if latest is not None and after <= latest:
                self.issues.append(doc.issue(at, (
                    f"{format_duration(after, 'en')} is not after the step before "
                    f"({format_duration(latest, 'en')}); list the steps in the order they "
                    "happen")))
            elif clears_after is not None and after >= clears_after:
                self.issues.append(doc.issue(at, (
                    f"never happens: the alarm clears {format_duration(clears_after, 'en')} "
                    "after it is raised"), severity="warning"))
            latest = after if latest is None else max(latest, after)

    def _schedule(self, doc: YamlDocument, at: Loc) -> None:
        """A window that can hold: some day, and ``from`` before ``to``."""
        during = doc.value_at(at)
        if not isinstance(during, dict):
            return
        if during.get("days") == []:
            self.issues.append(doc.issue((*at, "days"), (
                "no day: the rule would never raise; leave days out for every day")))
        start, end = during.get("from", "00:00"), during.get("to", "24:00")
        if not (isinstance(start, str) and isinstance(end, str)
                and _TIME.match(start) and _TIME.match(end)):
            return  # the schema reports a time that is not HH:MM
        if end != "24:00" and end <= start:
            where = (*at, "to") if "to" in during else at
            self.issues.append(doc.issue(where, (
                f"'{end}' is not after from '{start}', so the window is empty; across "
                f"midnight, write two rules: from '{start}' to '24:00' and from '00:00' "
                f"to '{end}'")))

    def _post_updates(self, doc: YamlDocument, loc: Loc) -> None:
        """An update is a line added to the rule's own post; help requests are left as
        their neighbours answered them. Without a post, the text goes nowhere."""
        raised = doc.value_at((*loc, "raise"))
        if isinstance(raised, dict) and raised.get("post"):
            return
        for at in ((*loc, "acknowledge", "post_update"), (*loc, "clear", "post_update")):
            if doc.value_at(at) is not None:
                self.issues.append(doc.issue(at, (
                    "nothing to update: post_update is added to the rule's post, and the "
                    "rule raises no post"), severity="warning"))

    def _rule_templates(self, doc: YamlDocument, loc: Loc) -> None:
        """Every text compiles in the sandbox the engine renders it in.

        Compiled, not only parsed, so that a misspelt filter (``round`` as ``rond``) is
        found now rather than shown raw in a resident's feed.
        """
        places = list(_TEMPLATES)
        for i, _ in _items(doc, (*loc, "escalate")):
            places += [("escalate", i, "help_request", part) for part in ("title", "body")]
        for rel in places:
            at = (*loc, *rel)
            value = doc.value_at(at)
            texts = ([(at, value)] if isinstance(value, str) else
                     [((*at, lang), v) for lang, v in value.items() if isinstance(v, str)]
                     if isinstance(value, dict) else [])
            for text_loc, text in texts:
                try:
                    self.jinja.from_string(text)
                except TemplateSyntaxError as exc:
                    where = f" (template line {exc.lineno})" if "\n" in text.strip() else ""
                    self.issues.append(doc.issue(text_loc, f"template error: {exc.message}{where}"))
                    continue
                unsafe = _private_names(self.jinja.parse(text))
                if unsafe:
                    names = ", ".join(f"'{n}'" for n in unsafe)
                    self.issues.append(doc.issue(text_loc, (
                        f"template error: {names} not allowed: templates run in a sandbox "
                        "that hides names starting with '_'")))
                    continue
                if rel in _SHOWN_ON_THE_POST:
                    self._reveal(doc, loc, text_loc, text)

    def _reveal(self, doc: YamlDocument, loc: Loc, text_loc: Loc, text: str) -> None:
        """A resident-facing text names the device only where ``reveal: device`` allows it.

        The engine leaves ``device.id`` and ``device.name`` out of a post's context below
        that level, so such a title would not render; more to the point, it would say
        more than the rule allows ("the cellar of flat 31" rather than "the basement").
        The updates made to the post on acknowledge and clear are held to the same cap.
        """
        reveal = doc.value_at((*loc, "raise", "post", "reveal"))
        reveal = _DEFAULT_REVEAL if reveal is None else reveal
        if reveal == "device" or reveal not in _REVEALS:  # the schema reports a bad one
            return
        for attr in _device_details(self.jinja.parse(text)):
            self.issues.append(doc.issue(text_loc, (
                f"device.{attr} tells residents more than reveal: {reveal} allows; say "
                "where with place.name, or write reveal: device if naming the device is fine")))

    def _kind_above(self, place: str | None, kind: str) -> str | None:
        """The place of ``kind`` at or above ``place``, as the engine scopes and groups."""
        places = self.places or {}
        node = places.get(place) if place else None
        while node is not None:
            if node.kind == kind:
                return node.id
            node = places.get(node.parent_id) if node.parent_id else None
        return None

    def _under(self, place: str | None, ancestor: str) -> bool:
        places = self.places or {}
        node = places.get(place) if place else None
        while node is not None:
            if node.id == ancestor:
                return True
            node = places.get(node.parent_id) if node.parent_id else None
        return False

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


def _device_events(doc: YamlDocument, kind: str | None) -> dict[str, frozenset[str] | None] | None:
    """What a device of ``kind`` on the bridge of ``doc`` emits; None when unknown."""
    kind_def = KINDS.get(kind) if kind else None
    if kind_def is None:
        return None
    if doc.value_at(("bridge", "format")) != "intercom":
        return dict.fromkeys(kind_def.events)  # events, if any, from a family not described here
    mappings = doc.value_at(("bridge", "events"))
    if not isinstance(mappings, list):
        return None
    events: dict[str, frozenset[str]] = {}
    for mapping in mappings:
        event = mapping.get("event") if isinstance(mapping, dict) else None
        if isinstance(event, str) and event in kind_def.events:
            data = mapping.get("data")
            keys = frozenset(k for k in data if isinstance(k, str)) if isinstance(data, dict) \
                else frozenset()
            events[event] = events.get(event, frozenset()) | keys
    return dict(events)


def _private_names(template: nodes.Template) -> list[str]:
    """Names starting with ``_`` that a template reaches for (``''.__class__``,
    ``x['__globals__']``, ``x|attr('_y')``): the sandbox refuses them when rendering, which
    would show the raw template in a feed; refuse them at validation instead."""
    found: list[str] = []
    for node in template.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        if isinstance(node, nodes.Getattr):
            names = [node.attr]
        elif isinstance(node, nodes.Getitem):
            names = [node.arg.value] if isinstance(node.arg, nodes.Const) else []
        else:
            names = [a.value for a in node.args if isinstance(a, nodes.Const)] \
                if node.name == "attr" else []
        found += [n for n in names if isinstance(n, str) and n.startswith("_")]
    return list(dict.fromkeys(reversed(found)))  # innermost (first written) first


def _device_details(template: nodes.Template) -> list[str]:
    """The details of ``device`` a template reads that only ``reveal: device`` provides."""
    found: list[str] = []
    for node in template.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr):
            target, key = node.node, node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            target, key = node.node, node.arg.value
        else:
            continue
        if (isinstance(target, nodes.Name) and target.name == "device"
                and key in _DEVICE_DETAILS and key not in found):
            found.append(key)
    return found


def _family(condition: Any) -> str | None:
    """``point``, ``offline``, ``battery``, ``event`` or ``count``; None for no mapping."""
    if not isinstance(condition, dict):
        return None
    return next((family for key, family in _FAMILY_KEYS if key in condition), "point")


def _seconds(value: Any) -> float | None:
    """A duration as written, in seconds; None when absent or unreadable (reported already)."""
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError:
        return None


def _loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


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
