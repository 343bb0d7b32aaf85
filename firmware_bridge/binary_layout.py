"""Binary frames read with a layout an installer declared in YAML (``layout_schema.Layout``).

A LoRaWAN uplink or a raw MQTT frame is a handful of bytes at fixed offsets, and the
same layout reads thousands of frames, so the work that does not depend on the
frame is done once, in ``CompiledLayout.__init__``:

* every distinct read (offset, width, signedness, byte order) is packed with the
  other reads of its byte order into as few ``struct.Struct`` formats as possible
  (``x`` pads the gaps), so a typical frame is unpacked by one C call;
* fields that share a read (several bit fields of one status byte) unpack it once;
* a scale or offset that could overflow a float for some integer the field can
  hold is refused here, so integer fields need no finiteness check per frame —
  only ``f32`` values, which can be NaN or infinite on the wire, are checked.

Bit fields count from the least significant bit of the value, after byte order is
applied: ``bits: [4, 3]`` of ``0b0111_0000`` is 7. They are the bits of the unsigned
value whatever the field's type, because a flag or a small counter packed into a
signed word is still just bits. No separate unsigned read is needed for that:
Python's ``>>`` and ``&`` act on a negative int's two's complement, so masking the
signed value gives the same bits, and a bit field shares its read with a plain
field of the same word.

The reasons in ``DecodeError`` are shown to installers in dead letters: they name
the frame's length and the field that does not fit, since the usual cause is a
layout written for another firmware version.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from math import isfinite

from firmware_bridge.base import DecodeError
from firmware_bridge.layout_schema import TYPE_SIZES, Layout, LayoutField

_CODES: dict[str, str] = {
    "u8": "B",
    "i8": "b",
    "u16": "H",
    "i16": "h",
    "u32": "I",
    "i32": "i",
    "f32": "f",
}
_ORDER: dict[str, str] = {"big": ">", "little": "<"}


@dataclass(frozen=True, slots=True)
class _Read:
    """One ``struct`` read: where, how wide, and in which byte order."""

    byte: int
    code: str
    order: str

    @property
    def end(self) -> int:
        return self.byte + struct.calcsize(self.code)


class CompiledLayout:
    """A ``Layout`` turned into precompiled ``struct`` formats and per-field steps.

    Construction raises ``ValueError`` for a layout that could never give finite
    values (a non-finite ``scale`` or ``offset``, or one that overflows a float for
    the field's range), so the mistake surfaces when the bridge file loads.
    """

    __slots__ = ("_by_end", "_length", "_needed", "_plans", "_single", "_structs", "layout")

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self._length = layout.length

        reads: dict[_Read, None] = {}  # an ordered set: fields sharing a read unpack it once
        field_reads: list[_Read] = []
        for f in layout.fields:
            read = _Read(f.byte, _CODES[f.type], _ORDER[f.endianness or layout.endianness])
            reads.setdefault(read)
            field_reads.append(read)

        self._structs, index = _pack(list(reads))
        #: The single struct when one suffices, which is the common case and the fast path.
        self._single: struct.Struct | None = self._structs[0] if len(self._structs) == 1 else None
        self._plans = tuple(
            _plan(f, index[r]) for f, r in zip(layout.fields, field_reads, strict=True)
        )
        self._needed = max(r.end for r in reads)
        # the field reported for a short frame is the first one that does not fit
        self._by_end = sorted(layout.fields, key=lambda f: (f.byte + TYPE_SIZES[f.type], f.byte))

    def __repr__(self) -> str:
        names = ", ".join(f.name for f in self.layout.fields)
        return f"CompiledLayout({names})"

    @property
    def min_length(self) -> int:
        """The fewest bytes a frame needs for every field to be read."""
        return self._needed

    def decode(self, data: bytes) -> dict[str, float | int]:
        """Read every field of ``data``, in layout order.

        Integers stay integers when the field has neither scale nor offset, so a
        counter or a status code is not turned into ``3.0``. Bytes past the last
        field are ignored unless the layout fixes the frame's ``length``.

        Raises ``DecodeError`` for a frame too short for a field, of the wrong fixed
        length, or an ``f32`` that is NaN or infinite (before or after scaling).
        """
        size = len(data)
        if size < self._needed or (self._length is not None and size != self._length):
            raise DecodeError(self._length_reason(size))
        single = self._single
        if single is not None:
            raw = single.unpack_from(data)
        else:
            raw = ()
            for s in self._structs:
                raw += s.unpack_from(data)
        out: dict[str, float | int] = {}
        for name, i, shift, mask, scale, offset, check in self._plans:
            value = raw[i]
            if mask:
                value = (value >> shift) & mask
            if scale is not None:
                value = value * scale + offset
            if check and not isfinite(value):
                raise DecodeError(_not_finite(name, raw[i]))
            out[name] = value
        return out

    def _length_reason(self, size: int) -> str:
        length = self._length
        if length is not None and size != length:
            return (
                f"frame of {_bytes(size)} does not have the layout's fixed length "
                f"of {_bytes(length)}"
            )
        for f in self._by_end:
            if f.byte + TYPE_SIZES[f.type] > size:
                return (
                    f"frame of {_bytes(size)} is too short for field {f.name!r} "
                    f"at byte {f.byte} ({f.type})"
                )
        raise AssertionError("unreachable: a short frame has a field that does not fit")


def _pack(reads: list[_Read]) -> tuple[tuple[struct.Struct, ...], dict[_Read, int]]:
    """Lay reads into as few structs as possible; return them and each read's index.

    A struct has one byte order and reads left to right, so reads are sorted by
    offset and each goes into the first lane of its byte order that ends at or
    before it. Overlapping reads (a u16 and the u8 inside it) open a new lane.
    """
    lanes: list[tuple[str, list[_Read]]] = []
    for read in sorted(reads, key=lambda r: (r.byte, r.end)):
        for order, lane in lanes:
            if order == read.order and lane[-1].end <= read.byte:
                lane.append(read)
                break
        else:
            lanes.append((read.order, [read]))
    structs: list[struct.Struct] = []
    index: dict[_Read, int] = {}
    base = 0
    for order, lane in lanes:
        fmt, at = [order], 0
        for read in lane:
            if read.byte > at:
                fmt.append(f"{read.byte - at}x")
            fmt.append(read.code)
            at = read.end
            index[read] = base
            base += 1
        structs.append(struct.Struct("".join(fmt)))
    return tuple(structs), index


def _plan(f: LayoutField, index: int) -> tuple[str, int, int, int, float | None, float, bool]:
    """The per-frame steps of one field: (name, read index, shift, mask, scale, offset, check).

    ``mask`` 0 means no bit extraction and ``scale`` None means the raw value is kept,
    so the decode loop tests two falsy values instead of looking at the field again.
    """
    if not (isfinite(f.scale) and isfinite(f.offset)):
        raise ValueError(
            f"field {f.name!r}: scale {f.scale!r} and offset {f.offset!r} must be finite numbers"
        )
    shift, mask = 0, 0
    if f.bits is not None:
        shift, count = f.bits
        mask = (1 << count) - 1
    is_float = f.type == "f32"
    if not is_float:
        largest = mask if mask else 2 ** (TYPE_SIZES[f.type] * 8)
        try:
            bound = float(largest) * abs(f.scale) + abs(f.offset)
        except OverflowError:
            bound = float("inf")
        if not isfinite(bound):
            raise ValueError(
                f"field {f.name!r}: scale {f.scale!r} overflows a float for a {f.type} value"
            )
    scaled = f.scale != 1.0 or f.offset != 0.0
    return (
        f.name,
        index,
        shift,
        mask,
        f.scale if scaled else None,
        f.offset,
        is_float,
    )


def _not_finite(name: str, raw: float) -> str:
    if isfinite(raw):
        return f"field {name!r} is not a finite number after scale and offset (raw value {raw!r})"
    return f"field {name!r} is not a finite number"


def _bytes(n: int) -> str:
    return "1 byte" if n == 1 else f"{n} bytes"
