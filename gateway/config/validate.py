"""``palier validate``: the installer's check before going live.

Its output is meant for editors and CI logs, so it is only ever issue lines
(errors and warnings, in file order) and at most one summary line — never a
traceback, even for a file that cannot be read. The exit status is 1 on any error
and 0 otherwise: a warning is worth reading, not worth failing a CI run over.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from gateway.config.errors import ConfigError, ConfigIssue, in_file_order
from gateway.config.installation import Installation
from gateway.config.loader import load_installation


def run_validate(root: Path, out: TextIO | None = None) -> int:
    """Print every issue under ``root``; return 1 on an error, else 0 after a summary."""
    out = out if out is not None else sys.stdout  # resolved late so tests can swap stdout
    try:
        installation = load_installation(root)
    except ConfigError as exc:
        for issue in in_file_order([*exc.issues, *exc.warnings]):
            print(issue, file=out)
        return 1
    except OSError as exc:  # e.g. a folder that vanished or lost permissions mid-way
        where = exc.filename or root
        print(ConfigIssue(str(where), 1, 1, "-", exc.strerror or str(exc)), file=out)
        return 1
    for warning in installation.warnings:
        print(warning, file=out)
    print(f"{root}: valid — {summary(installation)}", file=out)
    return 0


def summary(installation: Installation) -> str:
    """``2 buildings, 31 devices, 4 rules``: enough to see the right directory was checked.

    Warnings are counted at the end (``; 1 warning``), so a CI log that shows only the
    last line still says there is something to read.
    """
    buildings = sum(1 for node in installation.places.values() if node.kind == "building")
    devices = sum(len(bridge.devices) for bridge in installation.bridges)
    rules = len(installation.rules)
    text = ", ".join(_count(n, word) for n, word in
                     ((buildings, "building"), (devices, "device"), (rules, "rule")))
    if installation.warnings:
        text += f"; {_count(len(installation.warnings), 'warning')}"
    return text


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
