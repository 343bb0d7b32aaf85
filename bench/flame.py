"""Reading a py-spy profile: where the samples go, by function, self and inclusive.

py-spy's ``--format raw`` writes collapsed stacks, one line per distinct stack:
``thread (tid): name;frame (file:line);frame (file:line) COUNT``. The summary
groups frames by function (``name (file)``, line numbers dropped), counts each
function once per stack for its inclusive share, and keeps only the threads asked
for, so the report can say "x % of the gateway's CPU is spent in y".
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^():]*)(?::\d+)?\)$")


@dataclass(frozen=True, slots=True)
class Hotspot:
    function: str
    samples: int
    share: float


@dataclass(frozen=True, slots=True)
class Summary:
    samples: int
    by_self: tuple[Hotspot, ...]
    by_total: tuple[Hotspot, ...]
    threads: dict[str, int]


def _function(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "lib/python3", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['name']} ({path})"


def summarize(path: Path, *, threads: tuple[str, ...] = (), top: int = 25) -> Summary:
    """Self and inclusive sample counts of the ``top`` functions, for threads whose name
    contains one of ``threads`` (all threads when empty)."""
    self_counts: Counter[str] = Counter()
    total_counts: Counter[str] = Counter()
    per_thread: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = frames[0].split(": ", 1)[-1] if frames[0].startswith("thread") else ""
        if threads and not any(t in thread for t in threads):
            continue
        frames = frames[1:] if frames[0].startswith("thread") else frames
        if not frames:
            continue
        per_thread[thread] += count
        samples += count
        functions = [_function(f) for f in frames]
        self_counts[functions[-1]] += count
        for function in set(functions):
            total_counts[function] += count

    def ranked(counter: Counter[str]) -> tuple[Hotspot, ...]:
        return tuple(Hotspot(f, n, n / samples if samples else 0.0)
                     for f, n in counter.most_common(top))

    return Summary(samples, ranked(self_counts), ranked(total_counts), dict(per_thread))


def render(summary: Summary, title: str) -> str:
    lines = [f"{title}: {summary.samples} samples",
             "threads: " + ", ".join(f"{t} {n}" for t, n in summary.threads.items()),
             "", "inclusive (a function and everything it calls):"]
    lines += [f"  {h.share:6.1%}  {h.function}" for h in summary.by_total]
    lines += ["", "self (the function's own code):"]
    lines += [f"  {h.share:6.1%}  {h.function}" for h in summary.by_self]
    return "\n".join(lines)
