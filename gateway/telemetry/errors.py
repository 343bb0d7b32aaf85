"""The telemetry package's exceptions, so callers catch one root.

::

    TelemetryError
    ├── StoreError     the telemetry database refused or could not be reached
    │                  (wraps SQLAlchemy's error, names the database)
    ├── QueryError     a history or summary question that cannot be answered as asked:
    │                  an empty or reversed range, an interval below one second
    │                  (also a ValueError, so plain parsing code may raise and catch it)
    └── InfluxWriteError   (gateway.telemetry.influx) the InfluxDB server did not take
                       a batch; says whether trying again may help
"""

from __future__ import annotations


class TelemetryError(Exception):
    """Root of every error raised by the telemetry package."""


class StoreError(TelemetryError):
    """The telemetry database failed; the message names it (password hidden)."""


class QueryError(TelemetryError, ValueError):
    """A question the store cannot answer as asked; the message says what to change."""
