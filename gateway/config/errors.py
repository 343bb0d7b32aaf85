"""What is wrong with an installation, said the way an editor or a CI log wants it.

Every problem becomes one :class:`ConfigIssue` printed as ``path:line:column: field:
message``, the shape compilers use, so that editors jump to it and golden tests can
pin it down. The loader collects issues from every file before giving up, so one
exception carries all of them.

Exception tree::

    Exception
     └── ConfigError            the installation cannot be used; ``issues`` lists why
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

#: A path into parsed YAML: mapping keys and list indexes, e.g. ``("devices", 2, "place")``.
Loc = tuple[Hashable, ...]

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem at one place in one file; ``line`` and ``column`` count from 1."""

    path: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.field}: {self.message}"


class ConfigError(Exception):
    """The installation has issues; they are sorted by file, then position in it."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        unique = dict.fromkeys(issues)  # an aliased YAML node can yield the same issue twice
        self.issues: list[ConfigIssue] = sorted(unique, key=lambda i: (i.path, i.line, i.column))
        count = len(self.issues)
        super().__init__(f"{count} configuration issue{'' if count == 1 else 's'}")

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)


def field_name(loc: Loc) -> str:
    """The dotted name installers read, e.g. ``devices[2].place``; ``-`` for the whole file."""
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif isinstance(part, str) and _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{_key_text(part)}]"
    return out or "-"


def _key_text(key: Hashable) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return repr(key)
