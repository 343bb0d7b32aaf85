"""The InfluxDB sink's disk buffer: order, commits that survive a restart, torn lines, the bound."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.telemetry.disk_buffer import DiskBuffer

OpenBuffer = Callable[..., DiskBuffer]


@pytest.fixture
def open_buffer() -> Iterator[OpenBuffer]:
    """``DiskBuffer(...)``, closed after the test (closing twice is harmless)."""
    opened: list[DiskBuffer] = []

    def _open(*args: Any, **kwargs: Any) -> DiskBuffer:
        buffer = DiskBuffer(*args, **kwargs)
        opened.append(buffer)
        return buffer

    yield _open
    for buffer in opened:
        buffer.close()


def lines(start: int, count: int) -> list[bytes]:
    """Numbered lines of equal length (10 bytes each), so sizes are easy to reason about."""
    return [f"line{i:05d}\n".encode() for i in range(start, start + count)]


def drain(buffer: DiskBuffer, batch: int = 7) -> list[bytes]:
    out: list[bytes] = []
    while (read := buffer.read(batch)) is not None:
        out += read.payload.splitlines(keepends=True)
        buffer.commit(read)
    return out


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.seg"))


def test_lines_come_back_in_order_and_stay_until_committed(
    tmp_path: Path, open_buffer: OpenBuffer,
) -> None:
    buffer = open_buffer(tmp_path, 10_000, segment_bytes=35)
    assert buffer.read(5) is None
    assert buffer.append(lines(0, 12)) == 0
    assert buffer.pending() == (12, 120)

    first = buffer.read(5)
    assert first is not None
    assert first.payload == b"".join(lines(0, 5)) and first.lines == 5
    again = buffer.read(5)
    assert again == first, "reading does not consume"
    assert buffer.commit(first) == 0
    assert buffer.pending() == (7, 70)

    assert drain(buffer) == lines(5, 7)
    assert buffer.pending() == (0, 0)
    assert buffer.read(5) is None


def test_a_batch_spans_segments(tmp_path: Path, open_buffer: OpenBuffer) -> None:
    buffer = open_buffer(tmp_path, 10_000, segment_bytes=20)  # two lines per segment
    for i in range(0, 9, 3):
        buffer.append(lines(i, 3))
    batch = buffer.read(100)
    assert batch is not None
    assert batch.payload == b"".join(lines(0, 9))
    assert len(batch.pieces) > 1
    buffer.commit(batch)
    assert len(segments(tmp_path)) == 1, "delivered segments are deleted, the active one stays"


def test_a_commit_survives_a_restart_and_an_uncommitted_batch_is_read_again(
    tmp_path: Path, open_buffer: OpenBuffer,
) -> None:
    buffer = open_buffer(tmp_path, 10_000, segment_bytes=30)
    buffer.append(lines(0, 10))
    delivered = buffer.read(4)
    assert delivered is not None
    buffer.commit(delivered)
    in_flight = buffer.read(3)  # read, sent perhaps, then the process dies
    assert in_flight is not None
    buffer.close()

    reopened = open_buffer(tmp_path, 10_000, segment_bytes=30)
    assert reopened.pending() == (6, 60)
    assert reopened.read(3) == in_flight
    reopened.append(lines(10, 2))
    assert drain(reopened) == lines(4, 8)


def test_a_torn_last_line_is_cut_and_counted_on_restart(
    tmp_path: Path, open_buffer: OpenBuffer,
) -> None:
    buffer = open_buffer(tmp_path, 10_000)
    buffer.append(lines(0, 3))
    buffer.close()
    with open(segments(tmp_path)[-1], "ab") as f:
        f.write(b"line000")  # the process died in the middle of this write

    reopened = open_buffer(tmp_path, 10_000)
    assert reopened.torn_lines == 1
    assert reopened.pending() == (3, 30)
    reopened.append(lines(3, 1))
    assert drain(reopened) == lines(0, 4), "the next line is not glued to the torn one"


def test_a_missing_or_garbled_commit_file_re_sends_rather_than_loses(
    tmp_path: Path, open_buffer: OpenBuffer,
) -> None:
    buffer = open_buffer(tmp_path, 10_000)
    buffer.append(lines(0, 5))
    batch = buffer.read(2)
    assert batch is not None
    buffer.commit(batch)
    buffer.close()
    (tmp_path / "committed").write_text("garbage")

    assert drain(open_buffer(tmp_path, 10_000)) == lines(0, 5)


def test_beyond_the_bound_the_oldest_lines_are_dropped_and_counted(
    tmp_path: Path, open_buffer: OpenBuffer,
) -> None:
    buffer = open_buffer(tmp_path, 200, segment_bytes=40)  # 20 lines fit, 4 per segment
    dropped = 0
    for i in range(0, 100, 5):
        dropped += buffer.append(lines(i, 5))
        assert buffer.pending_bytes <= 200
    kept, size = buffer.pending()
    assert dropped > 0
    assert kept + dropped == 100
    assert size <= 200
    assert drain(buffer) == lines(100 - kept, kept), "the newest survive, in order"
    assert len(segments(tmp_path)) <= 200 // 40 + 2, "the disk use is bounded too"


def test_one_append_larger_than_the_bound_keeps_its_newest_lines(
    tmp_path: Path, open_buffer: OpenBuffer,
) -> None:
    buffer = open_buffer(tmp_path, 55)
    buffer.append(lines(0, 2))
    assert buffer.append(lines(2, 8)) == 2 + 3
    assert drain(buffer) == lines(5, 5)
    assert buffer.append([b"x" * 99 + b"\n"]) == 1, "a line larger than the bound"
    assert buffer.pending() == (0, 0)


def test_lines_dropped_while_their_batch_was_out_are_reported_by_commit(
    tmp_path: Path, open_buffer: OpenBuffer,
) -> None:
    buffer = open_buffer(tmp_path, 100, segment_bytes=50)
    buffer.append(lines(0, 5))
    buffer.append(lines(5, 5))  # one segment each
    batch = buffer.read(5)
    assert batch is not None
    assert buffer.append(lines(10, 5)) == 5  # the batch's segment goes for the bound
    assert buffer.commit(batch) == 5, "the caller counted them dropped; they were delivered"
    assert drain(buffer) == lines(5, 10)


def test_only_whole_lines_are_accepted(tmp_path: Path, open_buffer: OpenBuffer) -> None:
    buffer = open_buffer(tmp_path, 100)
    with pytest.raises(ValueError, match="newline"):
        buffer.append([b"no newline"])
    with pytest.raises(ValueError, match="newline"):
        buffer.append([b"two\nlines\n"])
    assert buffer.pending() == (0, 0)


def test_a_failed_write_leaves_the_buffer_as_it_was(
    tmp_path: Path, open_buffer: OpenBuffer,
) -> None:
    buffer = open_buffer(tmp_path, 10_000)
    buffer.append(lines(0, 2))

    class FullDisk:
        def __init__(self, real: object) -> None:
            self.real = real

        def write(self, data: memoryview) -> int:
            self.real.write(data[:3])  # type: ignore[attr-defined]
            raise OSError(28, "No space left on device")

        def close(self) -> None:
            self.real.close()  # type: ignore[attr-defined]

    real = buffer._file
    buffer._file = FullDisk(real)  # type: ignore[assignment]
    with pytest.raises(OSError, match="No space"):
        buffer.append(lines(2, 3))
    buffer._file = real
    assert buffer.pending() == (2, 20)
    buffer.append(lines(2, 1))
    assert drain(buffer) == lines(0, 3)
