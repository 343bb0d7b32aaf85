"""Palier's benchmark suite: ingest, latency, memory, feed API and peers, in one command.

``python -m bench [--quick] [--peers] [--runs 3] [--out bench/results/latest.json]``
prints a table (median, min and max of the runs) and writes the same figures as JSON.
Every process it starts listens on 127.0.0.1 only, is bounded in time and is stopped
in a ``finally`` block. ``docs/performance.md`` explains each figure.

Exception tree::

    BenchError          a step of the suite could not run (a process did not start,
                        did not finish in time, or reported less than it should)
"""

from __future__ import annotations


class BenchError(Exception):
    """A benchmark step could not run; the message says which and why."""
