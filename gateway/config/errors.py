"""What is wrong with an installation, said the way an editor or a CI log wants it.

Every problem becomes one :class:`ConfigIssue` printed as ``path:line:column: field:
message``, the shape compilers use, so that editors jump to it and golden tests can
pin it down. The loader collects issues from every file before giving up, so one
exception carries all of them.

An issue is an *error* (the installation cannot be used as written) or a *warning*
(it can, but probably does not mean what the installer thinks: an unquoted ``on``
read as ``true``). Warnings print as ``path:line:column: warning: field: message``
and never stop the gateway; they travel on the loaded ``Installation`` and, when
errors stop the load, on :class:`ConfigError` beside them.

Exception tree::

    Exception
     └── ConfigError            the installation cannot be used; ``issues`` lists why,
                                ``warnings`` what else looked wrong
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

#: A path into parsed YAML: mapping keys and list indexes, e.g. ``("devices", 2, "place")``.
Loc = tuple[Hashable, ...]

Severity = Literal["error", "warning"]

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem at one place in one file; ``line`` and ``column`` count from 1."""

    path: str
    line: int
    column: int
    field: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}"
        label = "warning: " if self.severity == "warning" else ""
        return f"{where}: {label}{self.field}: {self.message}"

    @property
    def is_warning(self) -> bool:
        return self.severity == "warning"


def in_file_order(issues: Iterable[ConfigIssue]) -> list[ConfigIssue]:
    """Issues without repeats, by file then position, an error before a warning at one spot.

    Repeats happen when an aliased YAML node is checked once per alias.
    """
    unique = dict.fromkeys(issues)
    return sorted(unique, key=lambda i: (i.path, i.line, i.column, i.is_warning))


class ConfigError(Exception):
    """The installation has errors; ``issues`` holds them and ``warnings`` the warnings.

    Both are sorted by file, then position. Warnings are kept rather than dropped so
    that ``palier validate`` shows the installer everything in one pass: fixing the
    errors should not reveal a second list of problems that was there all along.
    """

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        ordered = in_file_order(issues)
        self.issues: list[ConfigIssue] = [i for i in ordered if not i.is_warning]
        self.warnings: list[ConfigIssue] = [i for i in ordered if i.is_warning]
        count = len(self.issues)
        super().__init__(f"{count} configuration issue{'' if count == 1 else 's'}")

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in in_file_order([*self.issues, *self.warnings]))


def field_name(loc: Loc, data: Any = None) -> str:
    """The dotted name installers read, e.g. ``devices[2].place``; ``-`` for the whole file.

    An integer is a list index (``[2]``) unless ``data`` shows it is the key of a
    mapping, as the f_port of ``layouts: {1: ...}`` is: that reads ``layouts.1``.
    """
    out = ""
    for part in loc:
        is_key = isinstance(data, dict)
        data = _child(data, part)
        if isinstance(part, int) and not isinstance(part, bool) and not is_key:
            out += f"[{part}]"
        elif (isinstance(part, str) and _PLAIN_KEY.match(part)) or (
            isinstance(part, int) and not isinstance(part, bool)
        ):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{_key_text(part)}]"
    return out or "-"


def _child(data: Any, part: Hashable) -> Any:
    if isinstance(data, dict):
        return data.get(part)
    if isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
        return data[part]
    return None


def _key_text(key: Hashable) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return repr(key)


def did_you_mean(text: str, known: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the closest of ``known``, or nothing when none is close."""
    close = difflib.get_close_matches(text, list(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def describe(value: Any) -> str:
    """A value from YAML as an installer would recognise it: ``'text'``, ``42``, ``true``."""
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
