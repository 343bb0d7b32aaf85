"""YAML parsed once, keeping where every key and value was written.

PyYAML's ``safe_load`` throws positions away, yet an installer needs ``file:line:column``
for every mistake, including those found later by pydantic or by cross-checks. So the
document is composed into nodes (which carry marks) and walked here: the walk builds
the same plain data ``safe_load`` would and, beside it, a map from each value's path
(``("devices", 2, "place")``, the shape of a pydantic ``loc``) to its position.

The walk also catches what ``safe_load`` silently accepts: duplicate keys (the last
one wins, hiding the first) and unquoted ``on``/``off``/``yes``/``no`` keys, which
YAML 1.1 reads as booleans. Its other trap, ``22:00`` read as the base-60 number
1320, is explained wherever such a number is refused or looks unintended.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gateway.config.errors import ConfigIssue, Loc, Severity, field_name

#: Plain scalars PyYAML reads as booleans although they look like words.
YAML11_BOOL_WORDS = frozenset({"on", "off", "yes", "no"})

#: A plain scalar YAML 1.1 reads as a base-60 number: ``22:00`` is 1320, ``1:30`` is 90.
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$")

_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_MAP_TAGS = frozenset({"tag:yaml.org,2002:map"})
_SEQ_TAGS = frozenset({"tag:yaml.org,2002:seq"})


@dataclass(frozen=True, slots=True)
class Mark:
    """A position in a file, both counted from 1 as editors do."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Entry:
    """Where one value sits, and what the installer actually typed for it."""

    value: Mark
    key: Mark | None = None  # None for the document itself and for list items
    key_text: str | None = None  # a scalar key as written, e.g. "on"
    text: str | None = None  # a plain (unquoted) scalar value as written
    empty: bool = False  # ``place:`` with nothing after it

    @property
    def where(self) -> Mark:
        """The key for an empty value (nothing else to point at), else the value."""
        return self.key if self.empty and self.key is not None else self.value


@dataclass(frozen=True)
class YamlDocument:
    """Plain data as ``safe_load`` gives it, plus the position of every value in it."""

    path: str
    data: Any
    entries: dict[Loc, Entry] = field(default_factory=dict)

    def entry(self, loc: Loc) -> Entry:
        """The entry at ``loc``, or at its longest known prefix (the file start at worst)."""
        for end in range(len(loc), -1, -1):
            found = self.entries.get(tuple(loc[:end]))
            if found is not None:
                return found
        return Entry(Mark(1, 1))

    def value_at(self, loc: Loc) -> Any:
        """The plain data at ``loc``; None where the path leads nowhere."""
        return value_at(self.data, loc)

    def issue(
        self, loc: Loc, message: str, *, at_key: bool = False, severity: Severity = "error"
    ) -> ConfigIssue:
        """An issue pointing at the value at ``loc`` (or at its key, for a bad key)."""
        entry = self.entry(loc)
        mark = (entry.key or entry.value) if at_key else entry.where
        name = field_name(loc, self.data)
        return ConfigIssue(self.path, mark.line, mark.column, name, message, severity)


def value_at(data: Any, loc: Loc) -> Any:
    """Follow ``loc`` through mappings and lists; None where it leads nowhere."""
    for part in loc:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def quote_hint(text: str | None) -> str:
    """The advice for a scalar YAML turned into a non-string: ``quote it: 'on'``."""
    return f"quote it: '{text}'" if text is not None else "quote it"


def quote_advice(entry: Entry, value: Any) -> str:
    """Why a string became something else, for a plain scalar: ``on`` is true in YAML 1.1.

    Empty for a value that was quoted, is text already, or is a collection.
    """
    if entry.text is None or entry.empty or isinstance(value, str | dict | list):
        return ""
    if isinstance(value, bool) and is_yaml11_bool(entry.text):
        shown = "true" if value else "false"
        return f" (YAML 1.1 reads an unquoted {entry.text} as {shown}); {quote_hint(entry.text)}"
    if is_yaml11_sexagesimal(entry.text, value):
        hours = entry.text.lstrip("+-").split(":", 1)[0]
        shown = f"0{entry.text}" if len(hours) == 1 else entry.text  # a time of day: 07:30
        return (f" (YAML 1.1 reads an unquoted {entry.text} as a number in base 60); "
                f"{quote_hint(shown)}")
    return f"; {quote_hint(entry.text)}"


def is_yaml11_bool(text: str | None) -> bool:
    """True for the words YAML 1.1 (and so PyYAML) reads as booleans, ``on`` and friends."""
    return text is not None and text.lower() in YAML11_BOOL_WORDS


def is_yaml11_sexagesimal(text: str | None, value: Any) -> bool:
    """True for a time-like plain scalar that PyYAML turned into a number (``22:00``)."""
    return (text is not None and isinstance(value, int | float) and not isinstance(value, bool)
            and ":" in text and _SEXAGESIMAL.match(text) is not None)


def parse_yaml(text: str, path: str) -> tuple[YamlDocument | None, list[ConfigIssue]]:
    """Parse one file; the document is None when the text is not YAML at all.

    Duplicate keys and boolean-looking keys are issues but leave a usable document,
    so that the rest of the file can still be checked.
    """
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:  # a control character: an index, not a mark
        return None, [_reader_issue(exc, text, path)]
    walker = _Walker(loader, path)
    try:
        node = loader.get_single_node()
        if node is None:  # empty, or only comments
            return YamlDocument(path, None, {(): Entry(Mark(1, 1))}), []
        data = walker.walk(node, (), None)
    except yaml.MarkedYAMLError as exc:
        return None, [*walker.issues, _syntax_issue(exc, text, path)]
    finally:
        loader.dispose()
    return YamlDocument(path, data, walker.entries), walker.issues


class _Loader(yaml.SafeLoader):
    """Composes nodes and constructs scalars; collections are built by :class:`_Walker`."""


def _mark(mark: yaml.Mark) -> Mark:
    return Mark(mark.line + 1, mark.column + 1)


class _Walker:
    """Builds plain data from nodes while recording every value's path and marks."""

    def __init__(self, loader: _Loader, path: str) -> None:
        self.loader = loader
        self.path = path
        self.entries: dict[Loc, Entry] = {}
        self.issues: list[ConfigIssue] = []
        self._open: set[int] = set()  # nodes being walked, to stop recursive aliases

    def walk(self, node: Node, loc: Loc, key: tuple[Mark, str | None] | None) -> Any:
        if id(node) in self._open:
            raise yaml.constructor.ConstructorError(
                None, None, "an alias refers to a node that contains it", node.start_mark
            )
        entry = Entry(
            value=_mark(node.start_mark),
            key=key[0] if key else None,
            key_text=key[1] if key else None,
            text=node.value if isinstance(node, ScalarNode) and node.style is None else None,
            empty=isinstance(node, ScalarNode) and node.tag == _NULL_TAG and node.value == "",
        )
        self.entries[loc] = entry
        self._open.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, loc)
            if isinstance(node, SequenceNode):
                _check_tag(node, _SEQ_TAGS)
                return [self.walk(item, (*loc, i), None) for i, item in enumerate(node.value)]
            return self._scalar(node)
        finally:
            self._open.discard(id(node))

    def _scalar(self, node: Node) -> Any:
        try:
            return self.loader.construct_object(node)
        except (ValueError, OverflowError) as exc:  # ``2024-13-45``, ``!!int abc``
            problem = f"cannot read {node.value!r} as {node.tag.rpartition(':')[2]} ({exc})"
            if node.style is None:
                problem += f"; {quote_hint(node.value)}"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from exc

    def _mapping(self, node: MappingNode, loc: Loc) -> dict[Hashable, Any]:
        _check_tag(node, _MAP_TAGS)
        self._check_own_keys(node, loc)
        self.loader.flatten_mapping(node)  # resolves ``<<: *defaults``; later keys override
        out: dict[Hashable, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, loc)
            if key is _UNHASHABLE:
                continue
            key_text = key_node.value if isinstance(key_node, ScalarNode) else None
            out[key] = self.walk(value_node, (*loc, key), (_mark(key_node.start_mark), key_text))
        return out

    def _check_own_keys(self, node: MappingNode, loc: Loc) -> None:
        """Duplicates among the keys written in this mapping (merged ones may override)."""
        seen: dict[Hashable, Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self._key(key_node, loc, report=False)
            if key is _UNHASHABLE:
                continue
            here = _mark(key_node.start_mark)
            if key in seen:
                shown = key_node.value if isinstance(key_node, ScalarNode) else key
                self.issues.append(self._issue(
                    here, (*loc, key),
                    f"duplicate key '{shown}' (first at line {seen[key].line})",
                ))
            else:
                seen[key] = here
            if (isinstance(key_node, ScalarNode) and key_node.style is None
                    and key_node.tag == _BOOL_TAG and is_yaml11_bool(key_node.value)):
                self.issues.append(self._issue(
                    here, (*loc, key_node.value),
                    f"unquoted key {key_node.value} is read as the boolean {str(key).lower()}"
                    f" (YAML 1.1); {quote_hint(key_node.value)}",
                ))

    def _key(self, key_node: Node, loc: Loc, *, report: bool = True) -> Hashable:
        if isinstance(key_node, ScalarNode):
            key = self._scalar(key_node)
            try:
                hash(key)
            except TypeError:  # e.g. a !!binary key; never useful in Palier's files
                pass
            else:
                return key
        if report:
            message = "a key must be a plain value, not a list or a mapping"
            self.issues.append(self._issue(_mark(key_node.start_mark), loc, message))
        return _UNHASHABLE

    def _issue(self, mark: Mark, loc: Loc, message: str) -> ConfigIssue:
        return ConfigIssue(self.path, mark.line, mark.column, field_name(loc), message)


_UNHASHABLE: Hashable = object()


def _check_tag(node: Node, allowed: frozenset[str]) -> None:
    if node.tag not in allowed:
        raise yaml.constructor.ConstructorError(
            None, None, f"unsupported tag {node.tag}", node.start_mark
        )


def _syntax_issue(exc: yaml.MarkedYAMLError, text: str, path: str) -> ConfigIssue:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
        line_text = text.splitlines()[mark.line]
        if not line_text[: mark.column].strip():
            message = "tabs are not allowed for indentation; use spaces"
        else:
            message = "a tab is not allowed here; use spaces"
        return ConfigIssue(path, line, column, "-", message)
    if exc.problem == "but found another document":
        return ConfigIssue(path, line, column, "-", "a second YAML document starts here; "
                           "a file holds one document")
    message = f"invalid YAML: {exc.problem or exc.context}"
    if exc.problem and exc.context and exc.context_mark is not None:
        message += f" ({exc.context} at line {exc.context_mark.line + 1})"
    return ConfigIssue(path, line, column, "-", message)


def _reader_issue(exc: yaml.reader.ReaderError, text: str, path: str) -> ConfigIssue:
    line = text.count("\n", 0, exc.position) + 1
    column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
    message = f"character U+{exc.character:04X} is not allowed in YAML"
    return ConfigIssue(path, line, column, "-", message)


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    if line < len(lines) and column < len(lines[line]):
        return lines[line][column]
    return ""
