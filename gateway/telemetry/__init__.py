"""Telemetry: every accepted reading kept, rolled up, and read back for the dashboards.

The embedded store (:mod:`gateway.telemetry.store`) has a database of its own — a
SQLite file beside the social one by default, PostgreSQL by URL — so that a burst
of readings never waits behind an alarm being written, nor the other way round.
Roll-ups (:mod:`gateway.telemetry.rollup`) are maintained as readings arrive and
retention (:mod:`gateway.telemetry.retention`) trims each table in small chunks,
so neither blocks ingest; :mod:`gateway.telemetry.writes` holds each backend's
fast way of writing a batch. Building summaries (:mod:`gateway.telemetry.summary`)
are built from the hourly roll-ups. The InfluxDB sink
(:mod:`gateway.telemetry.influx`) sends the same readings to a long-term server.
Errors: :mod:`gateway.telemetry.errors`.

Nothing is imported here on purpose: importing the package opens nothing.
"""
