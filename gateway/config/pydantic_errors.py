"""Pydantic's validation errors, said in the installer's words and at YAML positions.

pydantic reports errors on the *schema's* structure, for Python programmers: a
``loc`` with union member tags in it (``('bridge', 'zigbee2mqtt', 'base_topic')``),
messages like "Input should be a valid string", and a model validator's error at the
model rather than at the field it is about. Here the schema is walked alongside each
``loc`` to turn it back into a path into the YAML data (``bridge.base_topic``), the
one the installer can find in the file, and the message is reworded for someone
editing that file.

Some unions are picked by a function rather than by a tag field: a rule's ``when``
is a point test, ``offline_for``, ``battery_low``, ``event`` or ``at_least`` according
to the keys it has (``rules.schema.CONDITION_TAGS``). pydantic names the member it
tried in the ``loc`` as well (``rules[0].when.PointCondition.below``); that name is
stripped the same way, and a condition written with no recognisable test, or with
the tests of two conditions, is one message at ``when`` rather than the complaints
of whichever member happened to be tried.

The same walk finds the YAML 1.1 value traps pydantic cannot see: an unquoted ``on``
that became ``true`` where the schema takes text as well as booleans (a point's
``map``, a rule's ``is:``, an intercom ``match``) validates fine, yet the installer
may well have meant the text. Those become warnings.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Discriminator, Tag, ValidationError
from pydantic_core import ErrorDetails

from devices.schema import ID_PATTERN, PointSpec
from firmware_bridge.layout_schema import TYPE_SIZES, Layout, LayoutField
from gateway.config.errors import ConfigIssue, Loc, describe, did_you_mean, field_name
from gateway.config.yaml_positions import (
    YamlDocument,
    is_yaml11_bool,
    is_yaml11_sexagesimal,
    quote_advice,
    quote_hint,
    value_at,
)
from rules.schema import CONDITION_TAGS, Schedule, WebhookAction

__all__ = ["translate_errors", "yaml11_value_warnings"]


# --- walking the schema -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Union:
    """The members of a union and how one is picked, if it is picked rather than tried.

    ``discriminator`` is the field whose value picks a member (``format``); ``tags``
    maps the ``Tag`` of each member to its type when a function picks it instead
    (``pick``, a rule condition's keys). A union with neither is tried member by member.
    """

    members: tuple[Any, ...]
    discriminator: str | None
    tags: dict[str, Any] = field(default_factory=dict)
    pick: Callable[[Any], Any] | None = None

    @property
    def is_tagged(self) -> bool:
        """Errors name the one member chosen, not alternatives to weigh against each other."""
        return self.discriminator is not None or bool(self.tags)

    def by_tag(self) -> dict[Hashable, Any]:
        """Tag value -> member, for a tagged union of models with ``Literal`` tags or ``Tag``s."""
        if self.tags:
            return {tag: member for tag, member in self.tags.items()}
        if self.discriminator is None:
            return {}
        tags: dict[Hashable, Any] = {}
        for member in self.members:
            if isinstance(member, type) and issubclass(member, BaseModel):
                info = member.model_fields.get(self.discriminator)
                literal = _unwrap(info.annotation)[0] if info else None
                if typing.get_origin(literal) is typing.Literal:
                    tags.update(dict.fromkeys(typing.get_args(literal), member))
        return tags

    def member_for(self, data: Any) -> Any:
        """The member ``data`` selects, None when no tag (or an unknown one) selects any."""
        if self.pick is not None:
            tag = self.pick(data)
        elif self.discriminator is not None and isinstance(data, dict):
            tag = data.get(self.discriminator)
        else:
            return None
        return self.by_tag().get(tag) if isinstance(tag, Hashable) else None


def _unwrap(tp: Any) -> tuple[Any, _Union | None]:
    """The type with ``Annotated`` and ``| None`` removed; its members when a real union."""
    discriminator: str | None = None
    pick: Callable[[Any], Any] | None = None
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            base, *metadata = typing.get_args(tp)
            for meta in metadata:
                found = getattr(meta, "discriminator", None)
                if isinstance(found, str):
                    discriminator = found
                elif isinstance(meta, Discriminator) and callable(found):
                    pick = found
            tp = base
        elif origin in (typing.Union, types.UnionType):
            members = [arg for arg in typing.get_args(tp) if arg is not type(None)]
            if len(members) > 1:
                return tp, _Union(tuple(members), discriminator, _member_tags(members), pick)
            tp = members[0]
        else:
            return tp, None


def _member_tags(members: list[Any]) -> dict[str, Any]:
    """``Tag`` -> member type, when every member carries a ``Tag`` (a function picks one)."""
    tags: dict[str, Any] = {}
    for member in members:
        if typing.get_origin(member) is not typing.Annotated:
            return {}
        base, *metadata = typing.get_args(member)
        tag = next((m.tag for m in metadata if isinstance(m, Tag)), None)
        if tag is None:
            return {}
        tags[tag] = base
    return tags


def _field_type(model: type[BaseModel], name: Hashable) -> Any:
    """A field's type by the name written in YAML, its tagged-union discriminator kept.

    pydantic moves ``Field(discriminator=...)`` and an ``Annotated[..., Discriminator]``
    off the annotation into the field's info, so they are put back here for
    :func:`_unwrap` to find.
    """
    for attr, info in model.model_fields.items():
        if name in (info.alias, attr):
            if isinstance(info.discriminator, str):
                return typing.Annotated[info.annotation, info]
            picks = [m for m in info.metadata if isinstance(m, Discriminator)]
            if picks:
                return typing.Annotated[(info.annotation, *picks)]
            return info.annotation
    return None


def _child_type(tp: Any, part: Hashable) -> Any:
    """The type one step down from ``tp`` (a model, list, tuple or dict); None if unknown."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _field_type(tp, part)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list and args:
        return args[0]
    if origin is tuple and args:
        if isinstance(part, int) and part < len(args) and args[part] is not Ellipsis:
            return args[part]
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _field_names(model: type[BaseModel]) -> list[str]:
    """Fields by the names written in YAML (``is``, ``for``, ``raise``), in declaration order."""
    return [info.alias or name for name, info in model.model_fields.items()]


def _type_name(tp: Any) -> str | None:
    return getattr(tp, "__name__", None)


# --- errors -> issues -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Located:
    """A pydantic error with union tags stripped from its ``loc``, so it indexes the data."""

    error: ErrorDetails
    data_loc: Loc
    owner: type[BaseModel] | None  # the model whose field the loc names last
    union_at: Loc | None  # where an untagged union was tried member by member, if anywhere
    is_key: bool  # the error is about a dict key (``[key]``), not its value
    leaf: Any  # the schema's type at ``data_loc``, None when it could not be followed
    #: Where a tagged union chose a member on the way down, and that union.
    choices: tuple[tuple[Loc, _Union], ...] = ()


def translate_errors(
    doc: YamlDocument, model: type[BaseModel], errors: list[ErrorDetails]
) -> list[ConfigIssue]:
    """Plain-English issues at YAML positions for pydantic's errors on ``doc.data``."""
    located = [_locate(model, err) for err in errors]
    located = [item for item in located if not _under_bool_key(doc, item.data_loc)]
    conditions = _condition_issues(doc, located)
    located = [item for item in located if not _below_any(item.data_loc, conditions)]
    issues: list[ConfigIssue] = list(conditions.values())
    unions: dict[Loc, list[_Located]] = {}
    for item in located:
        if item.error["type"] in _TAG_ERRORS:
            issues.append(_tag_issue(doc, item))
            issues += [_issue_for(doc, shared) for shared in _shared_field_errors(item)]
        elif item.union_at is None:
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
    """Follow ``err["loc"]`` through the schema, dropping the parts that name union members.

    A tagged union's member is named by its tag (``zigbee2mqtt``, or a ``Tag`` such as
    ``PointCondition``), an untagged one's by the member's type name (``Text``,
    ``str``); neither is in the YAML. Errors of a tagged union concern the one member
    the tag chose, so they are not grouped as alternatives the way an untagged union's are.
    """
    data_loc: list[Hashable] = []
    owner: type[BaseModel] | None = None
    union_at: Loc | None = None
    is_key = False
    choices: list[tuple[Loc, _Union]] = []
    tp: Any = model
    for part in err["loc"]:
        if part == "[key]":
            is_key = True
            continue
        tp, union = _unwrap(tp)
        if union is not None:  # the part names the member tried
            if union.is_tagged:
                tp = union.by_tag().get(part)
                choices.append((tuple(data_loc), union))
            else:
                union_at = union_at if union_at is not None else tuple(data_loc)
                tp = next((m for m in union.members if _type_name(m) == part), None)
            continue
        data_loc.append(part)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            owner = tp
        tp = _child_type(tp, part)
    return _Located(err, tuple(data_loc), owner, union_at, is_key, tp, tuple(choices))


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
    "tuple_type": "a list",
}


def _issue_for(doc: YamlDocument, item: _Located) -> ConfigIssue:
    err, loc = item.error, item.data_loc
    kind = err["type"]
    entry = doc.entry(loc)
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "missing":  # point at the mapping that lacks the field
        mark = doc.entry(loc[:-1]).value
        return ConfigIssue(doc.path, mark.line, mark.column, field_name(loc, doc.data),
                           "field required")
    if kind == "extra_forbidden":
        names = _field_names(item.owner) if item.owner else []
        message = "unknown field"
        if names:
            message += f"; expected one of: {', '.join(names)}{did_you_mean(str(loc[-1]), names)}"
        return doc.issue(loc, message, at_key=True)
    if item.is_key or kind == "invalid_key":
        key = entry.key_text if entry.key_text is not None else loc[-1]
        message = f"a key must be a string, got {describe(loc[-1])}"
        if entry.key_text is not None:
            message += f"; {quote_hint(str(key))}"
        return doc.issue(loc, message, at_key=True)
    if kind in _NOUNS:
        noun = _NOUNS[kind] + (" (true or false)" if _NOUNS[kind] == "a boolean" else "")
        message = f"expected {noun}, got {describe(value)}"
        if kind == "string_type":
            message += quote_advice(entry, value)
        return doc.issue(loc, message)
    if kind in ("value_error", "assertion_error") and isinstance(value, dict):
        loc = (*loc, *_focus(item.leaf, value))
    message = _message(kind, value, ctx, err["msg"])
    if kind == "literal_error" and isinstance(value, str):
        literal, _ = _unwrap(item.leaf)
        known = [str(a) for a in typing.get_args(literal)]
        day = _FRENCH_DAYS.get(value.lower().rstrip("."))
        if day in known:
            message += f"; did you mean '{day}'? (days are written in English)"
        else:
            message += did_you_mean(value, known)
    return doc.issue(loc, message)


#: Days as a French installer abbreviates them, for ``during.days``.
_FRENCH_DAYS = {"lun": "mon", "lundi": "mon", "mar": "tue", "mardi": "tue", "mer": "wed",
                "mercredi": "wed", "jeu": "thu", "jeudi": "thu", "ven": "fri",
                "vendredi": "fri", "sam": "sat", "samedi": "sat", "dim": "sun",
                "dimanche": "sun"}


def _padded(text: str) -> str:
    """``7:30`` as a time of day is written ``07:30``."""
    return f"0{text}" if len(text.split(":", 1)[0]) == 1 else text


_TAG_ERRORS = ("union_tag_invalid", "union_tag_not_found")



def _patterns(model: type[BaseModel], *names: str) -> frozenset[str]:
    """The ``pattern`` constraints of some fields, to recognise them in an error's ctx."""
    return frozenset(meta.pattern for name in names for meta in model.model_fields[name].metadata
                     if isinstance(getattr(meta, "pattern", None), str))


#: The patterns of a ``during:`` window's ``from`` and ``to``, and of a webhook's ``url``.
_TIME_PATTERNS = _patterns(Schedule, "from_", "to")
_URL_PATTERNS = _patterns(WebhookAction, "url")


def _shared_field_errors(item: _Located) -> list[_Located]:
    """Errors the mapping has whichever member the tag had chosen, such as a bad ``id``.

    With an unknown tag pydantic validates no member at all, so a bad bridge ``id``
    would only show up once the ``format`` is fixed. Each member is tried with its own
    tag, and what every one of them reports the same way, about a field they all
    have, is reported now. Missing and unknown fields are left out: they differ from
    member to member, so they only make sense once the tag is known.
    """
    _, union = _unwrap(item.leaf)
    data = item.error.get("input")
    if union is None or union.discriminator is None or not isinstance(data, dict):
        return []
    common: dict[tuple[Any, ...], _Located] | None = None
    for tag, member in union.by_tag().items():
        try:
            member.model_validate({**data, union.discriminator: tag})
            return []  # one member accepts everything but the tag: nothing is shared
        except ValidationError as exc:
            found = {}
            for err in exc.errors(include_url=False):
                if err["type"] in ("missing", "extra_forbidden"):
                    continue
                sub = _locate(member, err)
                located = _Located(err, (*item.data_loc, *sub.data_loc), sub.owner, None,
                                   sub.is_key, sub.leaf)
                found[(sub.data_loc, err["type"], err["msg"])] = located
        common = found if common is None else {k: v for k, v in common.items() if k in found}
    return list((common or {}).values())


def _tag_issue(doc: YamlDocument, item: _Located) -> ConfigIssue:
    """A tagged union whose tag is missing or unknown: ``unknown format 'zigbe2mqtt'``.

    pydantic reports it at the mapping; the installer wants the tag's own line, and
    the tags to choose from in the order they are listed elsewhere (sorted).
    """
    err, loc = item.error, item.data_loc
    _, union = _unwrap(item.leaf)
    if union is not None and union.tags:
        return _picked_issue(doc, item, union)
    tag = union.discriminator if union and union.discriminator else (
        str((err.get("ctx") or {}).get("discriminator", "type")).strip("'\""))
    known = sorted(str(t) for t in union.by_tag()) if union else []
    listed = ", ".join(known)
    data = err.get("input")
    if err["type"] == "union_tag_not_found" and not (isinstance(data, dict) and tag in data):
        mark = doc.entry(loc).value
        message = f"field required (one of {listed})" if listed else "field required"
        return ConfigIssue(doc.path, mark.line, mark.column,
                           field_name((*loc, tag), doc.data), message)
    value = data.get(tag) if isinstance(data, dict) else None
    if value is None:
        message = f"expected a {tag} (one of {listed}), got an empty value"
    else:
        message = f"unknown {tag} {describe(value)}"
        if listed:
            message += f"; known {tag}s: {listed}"
    if isinstance(value, str):
        message += did_you_mean(value, known)
    return doc.issue((*loc, tag), message)


def _picked_issue(doc: YamlDocument, item: _Located, union: _Union) -> ConfigIssue:
    """A union picked by a function refused the input: no member has that shape at all.

    A mapping that picks no member is a rule condition in practice, reported by
    :func:`_condition_issues` before this is reached; this is the fallback.
    """
    value = item.error.get("input")
    if not isinstance(value, dict):
        message = f"expected a mapping, got {describe(value)}"
        return doc.issue(item.data_loc, message + quote_advice(doc.entry(item.data_loc), value))
    return doc.issue(item.data_loc, f"expected one of: {', '.join(union.tags)}")


def _message(kind: str, value: Any, ctx: dict[str, Any], fallback: str) -> str:
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind == "literal_error":
        return f"expected {ctx['expected']}, got {describe(value)}"
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") in _TIME_PATTERNS:
            latest = "'24:00'" if "24:00" in str(ctx.get("pattern")) else "'23:59'"
            return (f"{describe(value)} is not a time of day; write it as HH:MM between "
                    f"'00:00' and {latest}, e.g. '07:30'")
        if ctx.get("pattern") in _URL_PATTERNS:
            return f"{describe(value)} is not a web address; write it as https://host/path"
        if ctx.get("pattern") == ID_PATTERN:
            return (f"{describe(value)} is not a valid id; use lower-case letters, digits, "
                    "'.', '_' and '-', starting with a letter or a digit")
        return f"{describe(value)} does not match the pattern {ctx.get('pattern')}"
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return "must not be empty" if n == 1 else f"must be at least {n} characters long"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long"
    if kind in ("too_short", "too_long"):
        n = ctx.get("min_length" if kind == "too_short" else "max_length")
        if kind == "too_short" and n == 1:
            return "must not be empty"
        bound = "at least" if kind == "too_short" else "at most"
        return f"must have {bound} {n} item{'' if n == 1 else 's'}"
    bounds = {"greater_than_equal": ("ge", "at least"), "greater_than": ("gt", "more than"),
              "less_than_equal": ("le", "at most"), "less_than": ("lt", "less than")}
    if kind in bounds:
        key, words = bounds[kind]
        return f"must be {words} {ctx.get(key)}, got {describe(value)}"
    return fallback[:1].lower() + fallback[1:]


def _union_issue(doc: YamlDocument, at: Loc, group: list[_Located]) -> ConfigIssue:
    nouns = list(dict.fromkeys(_NOUNS[i.error["type"]] for i in group if i.error["type"] in _NOUNS))
    if "a number" in nouns and "a whole number" in nouns:
        nouns.remove("a whole number")
    if not nouns:
        return _issue_for(doc, group[0])
    value = group[0].error.get("input")
    expected = nouns[0] if len(nouns) == 1 else f"{', '.join(nouns[:-1])} or {nouns[-1]}"
    message = f"expected {expected}, got {describe(value)}"
    if "a string" in nouns:
        message += quote_advice(doc.entry(at), value)
    return doc.issue(at, message)


# --- rule conditions: which one the installer meant -------------------------------------

_POINT_TESTS = ("is", "in", "above", "below", "between", "changed", "rate", "missing")

#: The keys that pick each condition, as ``rules.schema``'s picker reads them.
_CONDITION_KEYS: dict[str, tuple[str, ...]] = {
    "PointCondition": _POINT_TESTS,
    "OfflineCondition": ("offline_for",),
    "BatteryLowCondition": ("battery_low",),
    "EventCondition": ("event",),
    "CountCondition": ("at_least",),
}


def _condition_issues(doc: YamlDocument, located: list[_Located]) -> dict[Loc, ConfigIssue]:
    """One issue per rule condition that is no condition, or two, by the keys it has.

    The picker falls back on a point condition for a mapping it does not recognise,
    so ``{kind: lift_monitor, offline: 30m}`` would read "point: field required",
    and ``{offline_for: 1h, below: 10}`` "below: unknown field": both true, both beside
    the point. Every error below such a condition is replaced by the one that is not.
    """
    found: dict[Loc, ConfigIssue] = {}
    for item in located:
        candidates = list(item.choices)
        _, leaf_union = _unwrap(item.leaf)
        if item.error["type"] in _TAG_ERRORS and leaf_union is not None:
            candidates.append((item.data_loc, leaf_union))
        for at, union in candidates:
            if not union.tags or not set(union.tags) <= CONDITION_TAGS or at in found:
                continue
            if _below_any(at, found):
                continue
            data = doc.value_at(at)
            problem = _condition_problem(data, union.tags) if isinstance(data, dict) else None
            if problem is not None:
                found[at] = doc.issue(at, problem)
    return {at: issue for at, issue in found.items() if not _below_any(at, found, strictly=True)}


def _below_any(loc: Loc, tops: dict[Loc, Any], *, strictly: bool = False) -> bool:
    return any(loc[:len(top)] == top and (len(loc) > len(top) or not strictly) for top in tops)


def _condition_problem(data: dict[Hashable, Any], allowed: dict[str, Any]) -> str | None:
    """What is wrong with the keys of a condition that ``allowed`` conditions could take."""
    present: dict[str, list[str]] = {}
    for key in data:
        for tag, keys in _CONDITION_KEYS.items():
            owned_by_battery = key == "below" and "battery_low" in data
            if key in keys and not (tag == "PointCondition" and owned_by_battery):
                present.setdefault(tag, []).append(str(key))
    if not present:
        return f"give {_conditions_listed(allowed)}{_misspelt_test(data, allowed)}"
    if "CountCondition" in present and "CountCondition" not in allowed:
        return f"a count cannot count counts: of takes {_conditions_listed(allowed)}"
    if "CountCondition" in present and len(present) > 1:
        own = _field_names(allowed["CountCondition"])
        moved = [str(k) for k in data if k not in own]
        return (f"at_least counts the devices for which the condition under of holds: "
                f"move {', '.join(moved)} under of")
    if len(present) > 1:
        first = [keys[0] for keys in present.values()]
        return (f"{' and '.join(first)} are two conditions; a when holds one "
                "(write one rule for each)")
    return None


def _misspelt_test(data: dict[Hashable, Any], allowed: dict[str, Any]) -> str:
    """``; did you mean 'offline_for' for 'offline'?`` when an unknown key is close to one."""
    known = sorted({name for member in allowed.values() for name in _field_names(member)})
    for key in data:
        if isinstance(key, str) and key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            if close:
                return f"; did you mean '{close[0]}' for '{key}'?"
    return ""


def _conditions_listed(allowed: dict[str, Any]) -> str:
    """``a point test (is, ...), offline_for, battery_low, event or at_least``."""
    names = [f"a point test ({', '.join(_POINT_TESTS)})" if tag == "PointCondition"
             else _CONDITION_KEYS[tag][0] for tag in _CONDITION_KEYS if tag in allowed]
    return f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]


# --- model validators: which field they are about ---------------------------------------
#
# A model validator checks fields together, so pydantic places its error at the model:
# ``bridge.layout.fields[1]`` for bits that do not fit. The installer should land on
# ``bits``. Each function below re-finds, from the input the validator saw, the field
# its complaint is about; the message stays the validator's own. Returning () keeps the
# model's position, which is still right, only less precise.


def _focus_layout_field(data: dict[Hashable, Any]) -> Loc:
    return ("bits",) if "bits" in data else ()


def _focus_layout(data: dict[Hashable, Any]) -> Loc:
    """The first field named twice, else the first that ends past ``length``, as checked."""
    fields, length = data.get("fields"), data.get("length")
    if not isinstance(fields, list):
        return ()
    seen: set[str] = set()
    for i, item in enumerate(fields):
        if not isinstance(item, dict):
            continue
        name = item.get("name")
        if isinstance(name, str):
            if name in seen:
                return ("fields", i, "name")
            seen.add(name)
        byte, size = item.get("byte"), TYPE_SIZES.get(str(item.get("type", "u8")), 1)
        if isinstance(length, int) and isinstance(byte, int) and byte + size > length:
            return ("fields", i, "byte")
    return ()


def _focus_point(data: dict[Hashable, Any]) -> Loc:
    return ("range",) if "range" in data else ()


_FOCUS: dict[type[BaseModel], Callable[[dict[Hashable, Any]], Loc]] = {
    LayoutField: _focus_layout_field,
    Layout: _focus_layout,
    PointSpec: _focus_point,
}


def _focus(leaf: Any, data: dict[Hashable, Any]) -> Loc:
    model, _ = _unwrap(leaf)
    focus = _FOCUS.get(model) if isinstance(model, type) else None
    return focus(data) if focus else ()


# --- YAML 1.1 value traps ---------------------------------------------------------------


def yaml11_value_warnings(doc: YamlDocument, model: type[BaseModel]) -> list[ConfigIssue]:
    """Warnings for unquoted ``on``/``off``/``yes``/``no`` values read as booleans where
    the schema would have taken the text as well, and for ``1:30`` read as the number 90
    (base 60) anywhere: nobody writes a number that way on purpose.

    Where only a boolean fits (``basement: yes``) the word means what it says; where
    only text fits, pydantic already refuses the boolean with a hint. In between, the
    file validates either way and only the installer knows which was meant. ``y`` and
    ``n`` are not listed: PyYAML reads them as text, as YAML 1.2 does.
    """
    issues: list[ConfigIssue] = []
    for loc, entry in doc.entries.items():
        if entry.text is not None and ":" in entry.text:
            value = doc.value_at(loc)
            if is_yaml11_sexagesimal(entry.text, value) and not _under_bool_key(doc, loc):
                issues.append(doc.issue(loc, (
                    f"unquoted '{entry.text}' is read as the number {describe(value)} in "
                    "YAML 1.1 (base 60); write a duration as 1h30m or 1m30s, and quote a "
                    f"time of day ('{_padded(entry.text)}')"), severity="warning"))
            continue
        if not is_yaml11_bool(entry.text):  # first: the cheap test, false for nearly all
            continue
        value = doc.value_at(loc)
        if not isinstance(value, bool) or _under_bool_key(doc, loc):
            continue
        leaves = _types_at(model, doc.data, loc)
        if bool in leaves and str in leaves:
            issues.append(doc.issue(loc, yaml11_value_message(str(entry.text), value),
                                    severity="warning"))
    return issues


def yaml11_value_message(text: str, value: bool) -> str:
    """The advice for an unquoted ``on`` read as ``true``, for either of the two intents."""
    shown = describe(value)
    return (f"unquoted '{text}' is read as {shown} in YAML 1.1; quote it ('{text}') if you "
            f"mean the text, write {shown} if you mean the boolean")


def _types_at(tp: Any, data: Any, loc: Loc) -> list[Any]:
    """The scalar types the schema accepts at ``loc`` of ``data``; [] where it is unknown.

    A tagged union follows the member the data picks; an untagged one every member.
    """
    tp, union = _unwrap(tp)
    if union is not None:
        if union.is_tagged:
            member = union.member_for(data)
            return _types_at(member, data, loc) if member is not None else []
        return [leaf for member in union.members for leaf in _types_at(member, data, loc)]
    if not loc:
        return [tp]
    child = _child_type(tp, loc[0])
    if child is None:
        return []
    return _types_at(child, value_at(data, loc[:1]), loc[1:])
