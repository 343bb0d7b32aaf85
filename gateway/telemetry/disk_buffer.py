"""A bounded FIFO of text lines on disk, which a crash does not empty.

The InfluxDB sink puts every encoded reading here first, and removes a batch only
after the server has acknowledged it. Ingest never waits for the network, an
outage of the server costs disk space instead of readings, and a crash of the
gateway loses nothing that was written here.

Layout of the directory:

``000000000001.seg``, ``000000000002.seg``, ...
    Append-only segment files of complete, ``\\n``-terminated lines, oldest first.
    Only the newest segment (the *active* one) grows; when it reaches
    ``segment_bytes`` a new one is started.
``committed``
    ``SEQ OFFSET``: every line before byte ``OFFSET`` of segment ``SEQ`` was
    delivered. Replaced atomically (write a temporary file, then ``os.replace``).

Nothing is fsynced: a write costs a copy into the page cache, not a disk flush.
That makes the buffer tolerant of a *process* crash, whose writes the kernel keeps,
and on restart:

- a torn last line (the process died inside a write) is cut off and reported
  through :attr:`DiskBuffer.torn_lines`;
- a missing, unreadable or out-of-date ``committed`` file makes the buffer start at
  its oldest segment, so lines are re-sent rather than lost;
- a batch that was read but not committed is read again.

A power cut may lose the last seconds of lines (and, in the worst case, the last
commits, so a few batches are sent twice). We chose that over one fsync per
reading.

**The bound.** The undelivered bytes never exceed ``max_bytes``. To make room,
:meth:`DiskBuffer.append` deletes the oldest segments, whole, and returns how many
undelivered lines went with them so that the caller counts and logs them. A
segment is a sixteenth of the bound by default: a drop frees about 6 % of it.
A batch being sent while its segment is dropped is noticed by :meth:`commit`,
which tells the caller that those lines had been counted as dropped.

The buffer is safe to use from two threads: one appending (ingest), one reading
and committing (the flusher). Only one reader is supported.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_SUFFIX = ".seg"
_COMMITTED = "committed"
_READ_CHUNK = 256 * 1024
#: The largest default segment: a drop never frees more than this at once.
_MAX_DEFAULT_SEGMENT = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Piece:
    """The part of one segment a batch covers: bytes ``[start, end)``, ``lines`` lines."""

    seq: int
    start: int
    end: int
    lines: int


@dataclass(frozen=True, slots=True)
class Batch:
    """Lines read from the buffer, oldest first, still in it until :meth:`DiskBuffer.commit`."""

    payload: bytes
    lines: int
    pieces: tuple[Piece, ...]


@dataclass(slots=True)
class _Segment:
    seq: int
    path: Path
    size: int
    lines: int


class DiskBuffer:
    """Append-only segment files plus a committed offset; see the module docstring.

    ``max_bytes`` bounds the undelivered bytes; ``segment_bytes`` (default: a
    sixteenth of the bound, at most 16 MiB) is the size at which a new segment is
    started, and so the granularity of dropping.
    """

    def __init__(
        self, directory: Path | str, max_bytes: int, *, segment_bytes: int | None = None
    ) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or max(1, min(max_bytes // 16, _MAX_DEFAULT_SEGMENT))
        #: Partial lines found at the end of segments when the buffer was opened: the
        #: trace of a crash in the middle of a write; those lines are lost.
        self.torn_lines = 0
        self._lock = threading.Lock()
        self._segments: list[_Segment] = []
        self._offset = 0  # committed byte offset in self._segments[0]
        self._offset_lines = 0  # lines before self._offset in self._segments[0]
        self._total_bytes = 0
        self._total_lines = 0
        self.directory.mkdir(parents=True, exist_ok=True)
        self._recover()
        self._file = open(self._segments[-1].path, "ab", buffering=0)  # noqa: SIM115

    # -- opening -------------------------------------------------------------------------

    def _recover(self) -> None:
        for path in sorted(self.directory.glob(f"*{_SUFFIX}")):
            try:
                seq = int(path.stem)
            except ValueError:
                continue
            size, lines = self._scan(path)
            self._segments.append(_Segment(seq, path, size, lines))
        seq, offset = self._read_committed()
        if not self._segments:
            self._segments.append(self._new_segment(max(seq, 0) + 1))
        # Segments wholly before the committed one were delivered; a committed
        # segment that no longer exists means we start at the oldest one we have.
        while len(self._segments) > 1 and self._segments[0].seq < seq:
            self._delete(self._segments.pop(0))
        head = self._segments[0]
        if head.seq == seq:
            self._offset = min(offset, head.size)
        elif head.seq < seq:  # the commit is past everything: all delivered
            self._offset = head.size
        self._offset_lines = self._count_lines(head.path, self._offset) if self._offset else 0
        self._total_bytes = sum(s.size for s in self._segments)
        self._total_lines = sum(s.lines for s in self._segments)
        self._write_committed()

    def _scan(self, path: Path) -> tuple[int, int]:
        """Size up to the last newline and the number of lines; cuts off a torn tail."""
        lines = 0
        complete = 0
        position = 0
        with open(path, "rb") as f:
            while chunk := f.read(_READ_CHUNK):
                count = chunk.count(b"\n")
                if count:
                    lines += count
                    complete = position + chunk.rfind(b"\n") + 1
                position += len(chunk)
        if position > complete:
            log.warning("telemetry buffer %s: cut a torn last line of %d bytes (a crash "
                        "during a write); that reading is lost", path, position - complete)
            self.torn_lines += 1
            os.truncate(path, complete)
        return complete, lines

    @staticmethod
    def _count_lines(path: Path, end: int) -> int:
        lines = 0
        with open(path, "rb") as f:
            while end > 0 and (chunk := f.read(min(_READ_CHUNK, end))):
                lines += chunk.count(b"\n")
                end -= len(chunk)
        return lines

    def _read_committed(self) -> tuple[int, int]:
        path = self.directory / _COMMITTED
        try:
            seq_text, offset_text = path.read_text().split()
            return int(seq_text), int(offset_text)
        except FileNotFoundError:
            return -1, 0
        except (OSError, ValueError):
            log.warning("telemetry buffer %s is unreadable; re-sending everything buffered",
                        path)
            return -1, 0

    # -- state helpers (under the lock) --------------------------------------------------

    def _new_segment(self, seq: int) -> _Segment:
        path = self.directory / f"{seq:012d}{_SUFFIX}"
        path.touch()
        return _Segment(seq, path, 0, 0)

    def _roll(self) -> None:
        self._file.close()
        segment = self._new_segment(self._segments[-1].seq + 1)
        self._segments.append(segment)
        self._file = open(segment.path, "ab", buffering=0)  # noqa: SIM115

    @staticmethod
    def _delete(segment: _Segment) -> None:
        segment.path.unlink(missing_ok=True)

    def _pop_head(self) -> None:
        head = self._segments.pop(0)
        self._total_bytes -= head.size
        self._total_lines -= head.lines
        self._offset = self._offset_lines = 0
        self._delete(head)

    def _collect(self) -> None:
        """Delete delivered segments other than the active one."""
        while len(self._segments) > 1 and self._offset >= self._segments[0].size:
            self._pop_head()

    def _write_committed(self) -> None:
        path = self.directory / _COMMITTED
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"{self._segments[0].seq} {self._offset}\n")
        os.replace(tmp, path)

    def _pending_bytes(self) -> int:
        return self._total_bytes - self._offset

    def _pending_lines(self) -> int:
        return self._total_lines - self._offset_lines

    # -- the queue -----------------------------------------------------------------------

    @property
    def pending_bytes(self) -> int:
        """Bytes appended and not yet committed."""
        with self._lock:
            return self._pending_bytes()

    @property
    def pending_lines(self) -> int:
        """Lines appended and not yet committed."""
        with self._lock:
            return self._pending_lines()

    def pending(self) -> tuple[int, int]:
        """``(lines, bytes)`` not yet committed, read together."""
        with self._lock:
            return self._pending_lines(), self._pending_bytes()

    def append(self, lines: Sequence[bytes]) -> int:
        """Queue ``lines`` (each ending with ``\\n``, no other newline); oldest dropped first.

        Returns the number of undelivered lines dropped to respect the bound (maybe
        some of ``lines`` themselves, if they alone exceed it). An ``OSError`` (a
        full disk) leaves the buffer as it was before the call.
        """
        for line in lines:
            if not line.endswith(b"\n") or line.count(b"\n") != 1:
                raise ValueError(f"not one newline-terminated line: {line[:80]!r}")
        dropped = 0
        size = sum(len(line) for line in lines)
        if size > self.max_bytes:
            keep = len(lines)
            while size > self.max_bytes:
                keep -= 1
                size -= len(lines[len(lines) - keep - 1])
            dropped, lines = len(lines) - keep, lines[len(lines) - keep:]
        if not lines:
            return dropped
        data = b"".join(lines)
        with self._lock:
            if self._pending_bytes() + len(data) > self.max_bytes:
                dropped += self._drop_oldest(len(data))
            active = self._segments[-1]
            if active.size >= self.segment_bytes:
                self._roll()
                self._collect()
                active = self._segments[-1]
            self._write_all(active, data)
            active.size += len(data)
            active.lines += len(lines)
            self._total_bytes += len(data)
            self._total_lines += len(lines)
        return dropped

    def _write_all(self, segment: _Segment, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                written = self._file.write(view)
                if not written:
                    raise OSError(f"could not write to {segment.path}")
                view = view[written:]
        except OSError:
            # A partial write would glue the next line onto half of this one.
            os.truncate(segment.path, segment.size)
            raise

    def _drop_oldest(self, incoming: int) -> int:
        dropped = 0
        while self._pending_bytes() + incoming > self.max_bytes and self._pending_bytes():
            if len(self._segments) == 1:
                self._roll()
            dropped += self._segments[0].lines - self._offset_lines
            self._pop_head()
        self._write_committed()
        return dropped

    def read(self, max_lines: int) -> Batch | None:
        """Up to ``max_lines`` of the oldest undelivered lines, or None if there are none.

        Does not remove them: the same lines come back until :meth:`commit`.
        """
        if max_lines <= 0:
            raise ValueError(f"max_lines must be positive, got {max_lines}")
        while True:
            with self._lock:
                if not self._pending_lines():
                    return None
                offset = self._offset
                segments = [(s.seq, s.path, s.size) for s in self._segments]
            try:
                return self._read(segments, offset, max_lines)
            except FileNotFoundError:
                continue  # the oldest segment was dropped meanwhile: read again

    @staticmethod
    def _read(segments: list[tuple[int, Path, int]], offset: int, max_lines: int) -> Batch:
        parts: list[bytes] = []
        pieces: list[Piece] = []
        wanted = max_lines
        for seq, path, size in segments:
            if wanted == 0:
                break
            start, data, count = offset, bytearray(), 0
            with open(path, "rb") as f:
                f.seek(start)
                remaining = size - start
                while remaining > 0 and count < wanted:
                    chunk = f.read(min(_READ_CHUNK, remaining))
                    if not chunk:
                        break
                    remaining -= len(chunk)
                    data += chunk
                    count += chunk.count(b"\n")
            if count >= wanted:  # cut after the wanted-th line: a chunk may end mid-line
                cut = -1
                for _ in range(wanted):
                    cut = data.index(b"\n", cut + 1)
                del data[cut + 1:]
                count = wanted
            if count:
                parts.append(bytes(data))
                pieces.append(Piece(seq, start, start + len(data), count))
                wanted -= count
            offset = 0
        return Batch(b"".join(parts), max_lines - wanted, tuple(pieces))

    def commit(self, batch: Batch) -> int:
        """Remove ``batch`` (delivered, or given up) from the buffer.

        Returns how many of its lines had already been dropped for the bound while
        the batch was out, and so counted as dropped by :meth:`append`.
        """
        already_dropped = 0
        with self._lock:
            for piece in batch.pieces:
                head = self._segments[0]
                if piece.seq < head.seq:
                    already_dropped += piece.lines
                    continue
                if piece.seq != head.seq or piece.start != self._offset:
                    raise RuntimeError(
                        f"commit out of order: batch at {piece.seq}:{piece.start}, buffer at "
                        f"{head.seq}:{self._offset} (only one reader may use a DiskBuffer)")
                self._offset = piece.end
                self._offset_lines += piece.lines
                self._collect()
            self._write_committed()
        return already_dropped

    def close(self) -> None:
        """Close the active segment; what was not committed is read again next time."""
        with self._lock:
            self._file.close()

    def __repr__(self) -> str:
        return f"DiskBuffer({str(self.directory)!r}, max_bytes={self.max_bytes})"
