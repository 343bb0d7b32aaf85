"""Small statistics the suite reports: percentiles, and median/min/max over runs."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """The ``pct``-th percentile (nearest rank) of already sorted values; 0 when empty."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max of one figure over the runs."""
    if not values:
        return {"median": 0.0, "min": 0.0, "max": 0.0, "runs": 0}
    return {"median": float(statistics.median(values)), "min": float(min(values)),
            "max": float(max(values)), "runs": len(values)}


def latency_summary(ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {"p50_ms": percentile(ordered, 50), "p99_ms": percentile(ordered, 99),
            "max_ms": ordered[-1] if ordered else 0.0, "count": len(ordered)}
