"""Readings to an InfluxDB v2 server, for the long run, never dropped in silence.

Operators of many buildings keep long-term telemetry in InfluxDB (or anything that
speaks its v2 write API: InfluxDB 2/3, VictoriaMetrics, ...). The sink must not
slow ingest down, nor lose readings when that server is away, nor hide what it
could not deliver. So:

- :meth:`InfluxSink.submit` only encodes the readings and appends them to a
  :class:`~gateway.telemetry.disk_buffer.DiskBuffer` (a write into the page cache);
- one background **thread** (influxdb-client's synchronous API blocks, and a thread
  keeps the sink independent of whichever event loop calls ``submit``) reads the
  oldest batch, posts it, and removes it from the buffer only once the server has
  answered 2xx. Batches go one at a time, so they arrive in order; a crash re-sends
  at most the batch that was in flight;
- while the server is unreachable, or answers 5xx, 429 or 408, the same batch is
  retried with jittered exponential backoff (honouring ``Retry-After``) and new
  readings pile up on disk, up to ``max_buffer_bytes``; beyond it the oldest are
  dropped, counted under ``buffer_full`` and logged;
- 401, 403 and 404 (wrong token, organisation or bucket) are retried too: they say
  nothing about the data, and dropping everything for a token that expired over a
  weekend would be the wrong answer. They are logged as errors;
- another 4xx (400, 422: the server refuses the data) drops that batch, counted
  under ``http_<status>`` with the server's message in ``last_error``; 413 halves
  the batch size first, and drops only a single line that is still too large.

What is written, per reading (line protocol, nanosecond timestamps at microsecond
resolution)::

    temperature,building=lilas,device=t-b3,entrance=lilas/b,floor=lilas/b/3,kind=thermometer \
        value=21.5 1717400000123456000                                       (one line)

- the measurement is the point's name, the only field is ``value``, always a
  float: ``true``/``false`` are written 1.0/0.0 (as the embedded store keeps
  them), so a measurement never changes field type and a mean of a boolean is the
  share of time it was true;
- text points are not written (they are states, not series); they are counted in
  ``skipped_points["text"]``;
- tags: ``building``, ``entrance`` and ``floor`` are the place ids of the device's
  ancestry (absent above that level: a boiler at the building has no ``floor``),
  ``device`` its id and ``kind`` its kind. A reading of a device the registry no
  longer knows is written with its ``device`` tag only.

The token comes from ``PALIER_INFLUX_TOKEN`` (:func:`token_from_env`); it is handed
to influxdb-client and never logged nor kept in a ``repr``.

Errors: :class:`InfluxWriteError` (under
:class:`gateway.telemetry.errors.TelemetryError`) is what a failed write is
translated into; the flusher catches it and turns it into ``stats()``.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Self, TypedDict

from devices.records import Device, Reading
from gateway.backoff import Backoff
from gateway.secrets import secret
from gateway.telemetry.disk_buffer import Batch, DiskBuffer
from gateway.telemetry.errors import TelemetryError
from social.site import PlaceNode

log = logging.getLogger(__name__)

#: Where the token is read from; never from a file of the configuration.
TOKEN_ENV = "PALIER_INFLUX_TOKEN"
DEFAULT_MAX_BUFFER_BYTES = 256 * 1024 * 1024
#: Statuses that say "later", not "never": retried with backoff.
RETRY_STATUSES = frozenset({401, 403, 404, 408, 429})
#: Seconds between two warnings about the full buffer: a drop per submit would flood.
DROP_LOG_INTERVAL = 10.0
_MAX_ERROR = 300
_TAG_LEVELS = ("building", "entrance", "floor")

#: ``device id -> Device``, e.g. ``DeviceRegistry.get``; asked at every submit, so a
#: reloaded registry is seen at once.
DeviceLookup = Callable[[str], Device | None]


class InfluxWriteError(TelemetryError):
    """The server did not take a batch: ``status`` is None when it was not reached."""

    def __init__(self, message: str, *, status: int | None, retryable: bool,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after

    @property
    def reason(self) -> str:
        """The key under which a dropped batch is counted."""
        return f"http_{self.status}" if self.status is not None else "unreachable"


class InfluxStats(TypedDict):
    """What :meth:`InfluxSink.stats` reports; point counts since the sink was created.

    ``last_error`` stays after the server is back: compare ``last_error_at`` with
    ``last_success_at`` to tell a past outage from a current one. Every point
    submitted and not skipped is in exactly one of ``sent_points``,
    ``dropped_points`` (by reason: ``buffer_full``, ``http_<status>``, ``disk_error``,
    ``torn_line``) and ``buffered_points``.
    """

    buffered_points: int
    buffered_bytes: int
    sent_points: int
    dropped_points: dict[str, int]
    skipped_points: dict[str, int]
    last_error: str | None
    last_error_at: float | None
    last_success_at: float | None


def token_from_env(environ: Mapping[str, str] = os.environ) -> str:
    """The InfluxDB token (``$PALIER_INFLUX_TOKEN``, or the file ``$PALIER_INFLUX_TOKEN_FILE``
    names); a ``TelemetryError`` naming the variables if neither is set."""
    token = secret(TOKEN_ENV, environ)
    if not token:
        raise TelemetryError(f"the InfluxDB sink needs a token in ${TOKEN_ENV} "
                             f"(or a file named by ${TOKEN_ENV}_FILE)")
    return token


# The escapes influxdb-client's own Point uses, so both write the same lines.
_ESCAPE_MEASUREMENT = str.maketrans(
    {",": r"\,", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"})
_ESCAPE_TAG = str.maketrans(
    {",": r"\,", " ": r"\ ", "=": r"\=", "\n": r"\n", "\t": r"\t", "\r": r"\r"})


def _ancestor(places: Mapping[str, PlaceNode], place_id: str, kind: str) -> str | None:
    node = places.get(place_id)
    while node is not None:
        if node.kind == kind:
            return node.id
        node = places.get(node.parent_id) if node.parent_id else None
    return None


class InfluxSink:
    """Buffers readings on disk and writes them, in order, to an InfluxDB v2 write API.

    Use it as a context manager, or call :meth:`start` and :meth:`close`. Only
    :meth:`submit` is meant for the ingest path; it never raises for a failure of
    the disk or the server, which end up in :meth:`stats` and the log instead.
    """

    def __init__(
        self,
        url: str,
        org: str,
        bucket: str,
        token: str,
        *,
        device_lookup: DeviceLookup,
        places: Mapping[str, PlaceNode],
        buffer_dir: Path | str,
        max_buffer_bytes: int = DEFAULT_MAX_BUFFER_BYTES,
        batch_size: int = 5000,
        flush_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
        backoff: Backoff | None = None,
        timeout: float = 10.0,
    ) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.url, self.org, self.bucket = url, org, bucket
        self._device_lookup = device_lookup
        self._places = places
        self._batch_size = batch_size  # lowered for good if the server answers 413
        self._flush_interval = flush_interval
        self._clock = clock
        self._backoff = backoff or Backoff(base=0.5, cap=30.0)
        self._buffer = DiskBuffer(buffer_dir, max_buffer_bytes)
        # Imported here, not with the module: the client library weighs ~28 MB of memory,
        # which a gateway without InfluxDB (the default) should not carry.
        from influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        # No retries inside the client: the flusher owns them, with the buffer behind.
        self._client = InfluxDBClient(url=url, token=token, org=org,
                                      timeout=int(timeout * 1000), retries=False)
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        self._tags: dict[str, tuple[Device | None, str]] = {}
        self._measurements: dict[str, str] = {}
        self._lock = threading.Lock()
        self._sent = 0
        self._dropped: dict[str, int] = {}
        self._skipped: dict[str, int] = {}
        self._last_error: str | None = None
        self._last_error_at: float | None = None
        self._last_success_at: float | None = None
        self._failures = 0
        self._retry_delay = 0.0
        self._unlogged_drops = 0
        self._drop_logged_at = -math.inf
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        if self._buffer.torn_lines:
            self._dropped["torn_line"] = self._buffer.torn_lines

    def __repr__(self) -> str:
        return f"InfluxSink(url={self.url!r}, org={self.org!r}, bucket={self.bucket!r})"

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the flusher thread; what an earlier run left buffered goes first."""
        if self._thread is not None:
            raise RuntimeError("InfluxSink already started")
        self._thread = threading.Thread(target=self._run, name="influx-flusher", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Send what is buffered while the server takes it, then stop.

        Gives up after ``timeout`` seconds; what was not delivered stays on disk for
        the next start.
        """
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                # Leave the files to the thread: it ends with the process.
                log.warning("InfluxDB flusher still busy after %.0fs; %d points stay "
                            "buffered for the next start", timeout, self._buffer.pending_lines)
                return
        self._client.close()
        self._buffer.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def reconfigure(self, *, device_lookup: DeviceLookup,
                    places: Mapping[str, PlaceNode]) -> None:
        """Use a reloaded configuration's devices and places for the next readings."""
        self._device_lookup, self._places = device_lookup, places
        self._tags = {}

    # -- ingest --------------------------------------------------------------------------

    def submit(self, readings: Iterable[Reading]) -> None:
        """Queue ``readings`` for the server; returns after a write to the disk buffer.

        Raises ``RuntimeError`` after :meth:`close`: the intake must stop first.
        """
        if self._closed:
            raise RuntimeError("InfluxSink.submit after close")
        lines: list[bytes] = []
        text = 0
        for reading in readings:
            line = self._encode(reading)
            if line is None:
                text += 1
            else:
                lines.append(line)
        failure: OSError | None = None
        dropped = pending = 0
        # Appending and counting under one lock: stats() never sees a point lost or twice.
        with self._lock:
            if text:
                self._skipped["text"] = self._skipped.get("text", 0) + text
            if not lines:
                return
            try:
                dropped = self._buffer.append(lines)
            except OSError as exc:
                failure, dropped = exc, len(lines)
            if dropped:
                reason = "disk_error" if failure else "buffer_full"
                self._dropped[reason] = self._dropped.get(reason, 0) + dropped
            pending = self._buffer.pending_lines
        if failure is not None:
            self._log_drop(dropped, f"the buffer could not be written ({failure}): dropped")
        elif dropped:
            self._log_drop(dropped, f"the buffer is full ({self._buffer.max_bytes} bytes): "
                                    "dropped the oldest")
        if pending >= self._batch_size:
            self._wake.set()

    def _encode(self, reading: Reading) -> bytes | None:
        value = reading.value
        if isinstance(value, str):
            return None
        measurement = self._measurements.get(reading.point)
        if measurement is None:
            measurement = reading.point.translate(_ESCAPE_MEASUREMENT)
            self._measurements[reading.point] = measurement
        # Microseconds first: a float epoch times 1e9 is not an exact nanosecond count.
        ns = round(reading.at * 1_000_000) * 1000
        return (f"{measurement}{self._tag_text(reading.device_id)} "
                f"value={float(value)!r} {ns}\n").encode()

    def _tag_text(self, device_id: str) -> str:
        device = self._device_lookup(device_id)
        cached = self._tags.get(device_id)
        if cached is not None and cached[0] is device:
            return cached[1]
        tags: dict[str, str] = {"device": device_id}
        if device is not None:
            tags["kind"] = device.kind
            for level in _TAG_LEVELS:
                place = _ancestor(self._places, device.place_id, level)
                if place is not None:
                    tags[level] = place
        text = "".join(f",{key}={tags[key].translate(_ESCAPE_TAG)}"
                       for key in sorted(tags) if tags[key])
        self._tags[device_id] = (device, text)
        return text

    # -- reporting -----------------------------------------------------------------------

    def stats(self) -> InfluxStats:
        """Counts for the status API and the operator; see :class:`InfluxStats`."""
        with self._lock:
            points, size = self._buffer.pending()
            return InfluxStats(
                buffered_points=points,
                buffered_bytes=size,
                sent_points=self._sent,
                dropped_points=dict(self._dropped),
                skipped_points=dict(self._skipped),
                last_error=self._last_error,
                last_error_at=self._last_error_at,
                last_success_at=self._last_success_at,
            )

    def _log_drop(self, points: int, why: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._unlogged_drops += points
            if now - self._drop_logged_at < DROP_LOG_INTERVAL:
                return
            self._drop_logged_at = now
            points, self._unlogged_drops = self._unlogged_drops, 0
            total = sum(self._dropped.values())
        log.warning("InfluxDB sink: %s %d points (%d dropped since start)", why, points, total)

    # -- the flusher thread --------------------------------------------------------------

    def _run(self) -> None:
        while True:
            closing = self._closing.is_set()
            self._wake.clear()
            try:
                delivered_all = self._flush()
            except Exception as exc:  # the disk, or a bug: keep the thread, and say so
                log.exception("InfluxDB flusher failed; retrying")
                self._failed(InfluxWriteError(f"flusher: {type(exc).__name__}: {exc}",
                                              status=None, retryable=True))
                delivered_all = False
            if closing:
                return
            if delivered_all:
                self._wake.wait(self._flush_interval)
            else:
                self._closing.wait(self._retry_delay)

    def _flush(self) -> bool:
        """Send batches until the buffer is empty (True) or the server is away (False)."""
        while (batch := self._buffer.read(self._batch_size)) is not None:
            try:
                self._write(batch.payload)
            except InfluxWriteError as exc:
                if exc.status == 413 and batch.lines > 1:
                    self._batch_size = max(1, batch.lines // 2)
                    log.warning("InfluxDB refused %d points as too large; batches of %d "
                                "from now on", batch.lines, self._batch_size)
                    continue
                if exc.retryable:
                    self._failed(exc)
                    return False
                self._refused(batch, exc)
                continue
            self._delivered(batch)
        return True

    def _write(self, payload: bytes) -> None:
        """Post one batch; every failure comes out as an :class:`InfluxWriteError`."""
        import urllib3
        from influxdb_client import WritePrecision
        from influxdb_client.rest import ApiException

        try:
            self._write_api.write(bucket=self.bucket, org=self.org, record=payload,
                                  write_precision=WritePrecision.NS)
        except ApiException as exc:
            status = int(exc.status or 0)
            message = _text(getattr(exc, "message", None) or exc.reason)
            raise InfluxWriteError(
                f"HTTP {status}: {message}", status=status,
                retryable=status >= 500 or status in RETRY_STATUSES,
                retry_after=_seconds(getattr(exc, "retry_after", None)),
            ) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise InfluxWriteError(f"unreachable: {type(exc).__name__}: {exc}"[:_MAX_ERROR],
                                   status=None, retryable=True) from exc
        except Exception as exc:
            # A bug or a surprise from the client: keep the data and keep trying.
            log.exception("InfluxDB write failed unexpectedly")
            raise InfluxWriteError(f"{type(exc).__name__}: {exc}"[:_MAX_ERROR],
                                   status=None, retryable=True) from exc

    def _delivered(self, batch: Batch) -> None:
        with self._lock:  # commit and count at once: stats() never sees a point twice
            already_dropped = self._buffer.commit(batch)
            self._sent += batch.lines
            if already_dropped:
                # Counted as dropped for the bound while in flight, yet they arrived.
                self._dropped["buffer_full"] -= already_dropped
            self._last_success_at = self._clock()
            failures, self._failures = self._failures, 0
        self._backoff.reset()
        if failures:
            log.info("InfluxDB at %s takes writes again after %d failed attempts; %d points "
                     "still buffered", self.url, failures, self._buffer.pending_lines)

    def _failed(self, exc: InfluxWriteError) -> None:
        self._retry_delay = self._backoff.next_delay()
        if exc.retry_after is not None:
            self._retry_delay = max(self._retry_delay, min(exc.retry_after, self._backoff.cap))
        with self._lock:
            self._last_error, self._last_error_at = str(exc), self._clock()
            self._failures += 1
            first = self._failures == 1
        if first:
            level = logging.ERROR if exc.status in (401, 403, 404) else logging.WARNING
            log.log(level, "InfluxDB at %s did not take a batch (%s); buffering on disk and "
                    "retrying", self.url, exc)
        else:
            log.debug("InfluxDB write retry failed: %s", exc)

    def _refused(self, batch: Batch, exc: InfluxWriteError) -> None:
        with self._lock:
            already_dropped = self._buffer.commit(batch)
            points = batch.lines - already_dropped
            self._last_error, self._last_error_at = str(exc), self._clock()
            if points:
                self._dropped[exc.reason] = self._dropped.get(exc.reason, 0) + points
        if points:
            log.error("InfluxDB at %s refused a batch (%s): dropped %d points", self.url, exc,
                      points)
        else:
            log.error("InfluxDB at %s refused a batch (%s) whose points had already been "
                      "dropped for the buffer bound", self.url, exc)


def _text(message: object) -> str:
    """A server's error message, fit for a log line and for ``stats()``."""
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return " ".join(str(message or "").split())[:_MAX_ERROR]


def _seconds(value: object) -> float | None:
    """A ``Retry-After`` in seconds; the HTTP-date form is left to the backoff."""
    try:
        seconds = float(str(value))
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
