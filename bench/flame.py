"""Reading a py-spy profile: where the samples go, by function, self and inclusive.

py-spy's ``--format raw`` writes collapsed stacks, one line per distinct stack:
``thread (tid): name;frame (file:line);frame (file:line) COUNT``. The summary
groups frames by function (``name (file)``, line numbers dropped), counts each
function once per stack for its inclusive share, and keeps only the threads asked
for, so the report can say "x % of the gateway's CPU is spent in y".
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from html import escape
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


# --- flame graph -------------------------------------------------------------------------


@dataclass
class _Node:
    name: str
    count: int = 0
    children: dict[str, _Node] = field(default_factory=dict)


def _tree(path: Path, threads: tuple[str, ...]) -> _Node:
    root = _Node("all")
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = stack.split(";")
        thread = frames[0].split(": ", 1)[-1] if frames[0].startswith("thread") else ""
        if threads and not any(t in thread for t in threads):
            continue
        count = int(count_text)
        root.count += count
        node = root
        for frame in [f"thread {thread}" if thread else "thread", *frames[1:]]:
            name = _function(frame) if not frame.startswith("thread") else frame
            node = node.children.setdefault(name, _Node(name))
            node.count += count
    return root


def render_svg(path: Path, svg: Path, *, title: str, threads: tuple[str, ...] = (),
               width: int = 1600) -> None:
    """A flame graph of a py-spy raw profile: callers below, callees on top, width = samples."""
    root = _tree(path, threads)
    row, min_width = 17, 0.5
    boxes: list[str] = []
    depth_max = 0

    def walk(node: _Node, x: float, depth: int) -> None:
        nonlocal depth_max
        w = node.count / root.count * width if root.count else 0.0
        if w < min_width:
            return
        depth_max = max(depth_max, depth)
        share = node.count / root.count
        hue = 10 + zlib.crc32(node.name.encode()) % 45
        label = escape(node.name)
        chars = int(w / 7)
        text = escape(node.name[:chars - 2] + "…" if len(node.name) > chars else node.name)
        boxes.append(
            f'<g><title>{label} — {node.count} samples ({share:.1%})</title>'
            f'<rect x="{x:.1f}" y="{{y{depth}}}" width="{w:.1f}" height="{row - 1}" '
            f'fill="hsl({hue},85%,60%)" rx="2"/>'
            + (f'<text x="{x + 3:.1f}" y="{{t{depth}}}">{text}</text>' if chars > 3 else "")
            + "</g>")
        child_x = x
        for child in sorted(node.children.values(), key=lambda c: -c.count):
            walk(child, child_x, depth + 1)
            child_x += child.count / root.count * width

    walk(root, 0.0, 0)
    height = (depth_max + 1) * row + 40
    body = "\n".join(boxes)
    for depth in range(depth_max + 1):
        y = height - 10 - (depth + 1) * row
        body = body.replace(f"{{y{depth}}}", str(y)).replace(f"{{t{depth}}}", str(y + 12))
    svg.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="monospace" font-size="11">\n'
        f'<rect width="100%" height="100%" fill="#fff"/>\n'
        f'<text x="4" y="16" font-size="14">{escape(title)} — {root.count} samples '
        f'(hover a box for its share)</text>\n{body}\n</svg>\n')
