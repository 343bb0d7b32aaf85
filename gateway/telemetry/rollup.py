"""Roll-up arithmetic and the choice of resolution for a history question.

Pure functions of their input (no database, no clock), so the rules that decide
what a dashboard gets are unit-tested on their own.

Aggregates combine exactly when every bucket keeps ``min``, ``max``, ``sum``,
``count`` and the ``last`` value with its time: the minimum of minimums, the
maximum of maximums, sums and counts added, the last value of the latest
``last_ts``. The mean is ``sum / count`` at read time, never stored, so merging
two buckets never averages averages.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from gateway.telemetry.errors import QueryError
from gateway.telemetry.retention import Retention

MINUTE = 60
HOUR = 3600
DAY = 86400

Source = Literal["raw", "1m", "1h"]
#: The width of the finest bucket each source can give, in seconds.
SOURCE_WIDTH: dict[Source, int] = {"raw": 1, "1m": MINUTE, "1h": HOUR}
#: The most points one history answer holds; finer questions are coarsened.
MAX_POINTS = 2000
#: Bucket widths a coarsened answer may use: steps a person reads at a glance.
NICE_STEPS = (1, 2, 5, 10, 15, 30, MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE,
              30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY)


@dataclass(slots=True)
class Aggregate:
    """The running aggregate of one bucket; mutable while a batch is being folded."""

    min: float
    max: float
    sum: float
    count: int
    last: float
    last_ts: float

    @classmethod
    def of(cls, value: float, ts: float) -> Aggregate:
        return cls(value, value, value, 1, value, ts)

    def add(self, value: float, ts: float) -> None:
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        self.sum += value
        self.count += 1
        if ts >= self.last_ts:
            self.last, self.last_ts = value, ts

    def merge(self, other: Aggregate) -> None:
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        self.sum += other.sum
        self.count += other.count
        if other.last_ts >= self.last_ts:
            self.last, self.last_ts = other.last, other.last_ts


def bucket_start(ts: float, width: int) -> int:
    """The start of the ``width``-second bucket holding ``ts``, aligned on the epoch."""
    return int(ts // width) * width


def aggregate(
    rows: Iterable[tuple[str, str, float, float]], width: int
) -> dict[tuple[str, str, int], Aggregate]:
    """Fold ``(device_id, point, ts, value)`` rows into buckets of ``width`` seconds."""
    buckets: dict[tuple[str, str, int], Aggregate] = {}
    for device_id, point, ts, value in rows:
        key = (device_id, point, bucket_start(ts, width))
        found = buckets.get(key)
        if found is None:
            buckets[key] = Aggregate.of(value, ts)
        else:
            found.add(value, ts)
    return buckets


@dataclass(frozen=True, slots=True)
class Point:
    """One bucket of a history answer; ``ts`` is the bucket's start (epoch seconds)."""

    ts: int
    min: float
    max: float
    mean: float
    last: float
    count: int


@dataclass(frozen=True, slots=True)
class Plan:
    """How a history question is answered: from which table, with which bucket width.

    ``start``/``end`` are the asked range widened to whole buckets; ``notes`` say in
    words why ``every`` differs from what was asked, for the dashboard to show.
    """

    source: Source
    every: int
    requested_every: int
    start: int
    end: int
    notes: tuple[str, ...] = ()

    @property
    def coarsened(self) -> bool:
        return self.every != self.requested_every

    @property
    def buckets(self) -> int:
        return (self.end - self.start) // self.every


def format_every(seconds: int) -> str:
    """``90`` → ``1m30s``, ``3600`` → ``1h``: the form the API accepts back."""
    parts = []
    for unit, width in (("d", DAY), ("h", HOUR), ("m", MINUTE), ("s", 1)):
        count, seconds = divmod(seconds, width)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _span(start: float, end: float, every: int) -> tuple[int, int]:
    return bucket_start(start, every), math.ceil(end / every) * every


def _fits(start: float, end: float, every: int) -> bool:
    low, high = _span(start, end, every)
    return (high - low) // every <= MAX_POINTS


def _coarser(start: float, end: float, every: int) -> int:
    """The smallest nice step of at least ``every`` that keeps the answer to MAX_POINTS."""
    for step in NICE_STEPS:
        if step >= every and _fits(start, end, step):
            return step
    weeks = max(2, math.ceil(every / (7 * DAY)))
    while not _fits(start, end, weeks * 7 * DAY):
        weeks += 1
    return weeks * 7 * DAY


def plan(start: float, end: float, every: float | None, *, now: float,
         retention: Retention) -> Plan:
    """Choose the source and bucket width for ``[start, end)`` at about ``every`` seconds.

    ``every=None`` asks for the finest nice step that fits in :data:`MAX_POINTS`.

    Raw readings answer intervals under a minute while the range is within raw
    retention; 1-minute roll-ups answer intervals under an hour within their own
    retention; 1-hour roll-ups answer the rest. A roll-up cannot be split, so
    ``every`` is at least its source's width and a whole multiple of it; and it is
    coarsened to a nice step when the answer would exceed :data:`MAX_POINTS`.
    """
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0:
        raise QueryError("the range must be between finite times after 1970")
    if start >= end:
        raise QueryError("the range is empty: 'from' must be before 'to'")
    if every is None:
        every = _coarser(start, end, 1)
    if not math.isfinite(every) or every < 1:
        raise QueryError("'every' must be at least 1s")
    requested = math.ceil(every)
    notes: list[str] = []
    chosen = requested
    if not _fits(start, end, chosen):
        chosen = _coarser(start, end, chosen)
        notes.append(f"every raised from {format_every(requested)} to {format_every(chosen)} "
                     f"to keep the answer within {MAX_POINTS} points")
    source: Source
    if chosen < MINUTE and start >= now - retention.raw:
        source = "raw"
    elif chosen < HOUR and start >= now - retention.minute:
        source = "1m"
    else:
        source = "1h"
    if source == "1m" and chosen < MINUTE:
        notes.append(f"raw readings are kept {format_every(int(retention.raw))}: "
                     "this range comes from the 1-minute roll-ups")
    elif source == "1h" and chosen < HOUR:
        notes.append(f"1-minute roll-ups are kept {format_every(int(retention.minute))}: "
                     "this range comes from the 1-hour roll-ups")
    width = SOURCE_WIDTH[source]
    if chosen % width:
        rounded = math.ceil(chosen / width) * width
        if chosen >= width:
            notes.append(f"every rounded up from {format_every(chosen)} to "
                         f"{format_every(rounded)}: {source} roll-ups cannot be split")
        chosen = rounded
    low, high = _span(start, end, chosen)
    return Plan(source, chosen, requested, low, high, tuple(notes))


@dataclass(frozen=True, slots=True)
class History:
    """A history answer: the points, and the plan that says how they were made."""

    device_id: str
    point: str
    plan: Plan
    points: list[Point]
