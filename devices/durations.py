"""Durations as installers write them: ``90s``, ``2m``, ``1h30m``, ``2h``, ``1d``."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str | int | float) -> float:
    """Seconds in ``text``; a bare number is seconds. Raises ``ValueError`` with a hint."""
    if isinstance(text, bool):
        raise ValueError("expected a duration such as 90s, 2m or 1h30m, got a boolean")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return float(text)
    if not isinstance(text, str):
        raise ValueError(f"expected a duration such as 90s, 2m or 1h30m, got {type(text).__name__}")
    compact = text.replace(" ", "")
    pos, total = 0, 0.0
    for match in _PART.finditer(compact):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(compact) or not compact:
        raise ValueError(f"{text!r} is not a duration; write it like 90s, 2m, 1h30m or 1d")
    return total


def format_duration(seconds: float, lang: str = "fr") -> str:
    """A human duration, e.g. ``3 h 23 min`` (the same in French and English)."""
    seconds = max(0, round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    day_word = "j" if lang == "fr" else "d"
    parts = []
    if days:
        parts.append(f"{days} {day_word}")
    if hours:
        parts.append(f"{hours} h")
    if minutes and days == 0:
        parts.append(f"{minutes} min")
    if not parts:
        parts.append(f"{secs} s")
    return " ".join(parts)


#: A pydantic field type: a duration in seconds, written as text in YAML.
Duration = Annotated[float, BeforeValidator(parse_duration)]
