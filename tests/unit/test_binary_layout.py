"""Binary layouts: every type both ways, bit fields, scale, short frames, NaN, properties."""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.base import DecodeError
from firmware_bridge.binary_layout import CompiledLayout
from firmware_bridge.layout_schema import TYPE_SIZES, Layout

CODES = {"u8": "B", "i8": "b", "u16": "H", "i16": "h", "u32": "I", "i32": "i", "f32": "f"}
ORDER = {"big": ">", "little": "<"}

PROPERTY = settings(max_examples=300, deadline=None, derandomize=True)


def compile_(fields: list[dict[str, Any]], **layout: Any) -> CompiledLayout:
    return CompiledLayout(Layout.model_validate({"fields": fields, **layout}))


# -- types and byte order --------------------------------------------------------------------

#: For each type: values at the edges of its range, and one in the middle.
EDGES: dict[str, list[int | float]] = {
    "u8": [0, 1, 0x7F, 0xFF],
    "i8": [-128, -1, 0, 127],
    "u16": [0, 0x1234, 0xFFFF],
    "i16": [-32768, -2, 0, 0x1234, 32767],
    "u32": [0, 0x12345678, 0xFFFFFFFF],
    "i32": [-(2**31), -1, 0, 0x12345678, 2**31 - 1],
    "f32": [0.0, -0.0, 1.5, -273.15, 3.4028234663852886e38, 1.401298464324817e-45],
}


@pytest.mark.parametrize("endianness", ["big", "little"])
@pytest.mark.parametrize(
    ("type_", "value"), [(t, v) for t, values in EDGES.items() for v in values]
)
def test_every_type_reads_back_in_both_byte_orders(
    type_: str, value: float, endianness: str
) -> None:
    layout = compile_([{"name": "v", "byte": 1, "type": type_}], endianness=endianness)
    frame = b"\xaa" + struct.pack(ORDER[endianness] + CODES[type_], value) + b"\xbb"
    decoded = layout.decode(frame)
    expected = struct.unpack("<f", struct.pack("<f", value))[0] if type_ == "f32" else value
    assert decoded == {"v": expected}
    assert type(decoded["v"]) is (float if type_ == "f32" else int)


def test_byte_order_is_what_the_bytes_say() -> None:
    frame = bytes([0x01, 0x02])
    assert compile_([{"name": "v", "byte": 0, "type": "u16"}]).decode(frame) == {"v": 0x0102}
    little = compile_([{"name": "v", "byte": 0, "type": "u16"}], endianness="little")
    assert little.decode(frame) == {"v": 0x0201}


def test_a_field_s_endianness_overrides_the_layout_s() -> None:
    layout = compile_(
        [
            {"name": "be", "byte": 0, "type": "u16"},
            {"name": "le", "byte": 2, "type": "u16", "endianness": "little"},
            {"name": "be2", "byte": 4, "type": "i16"},
        ],
        endianness="big",
    )
    assert layout.decode(bytes([1, 2, 1, 2, 0xFF, 0xFE])) == {"be": 258, "le": 513, "be2": -2}


def test_fields_come_out_in_layout_order_whatever_their_offsets() -> None:
    layout = compile_(
        [{"name": "z", "byte": 2}, {"name": "a", "byte": 0}, {"name": "m", "byte": 1}]
    )
    assert list(layout.decode(bytes([1, 2, 3]))) == ["z", "a", "m"]


def test_overlapping_and_shared_reads_each_see_the_right_bytes() -> None:
    layout = compile_(
        [
            {"name": "word", "byte": 0, "type": "u32"},
            {"name": "low_le", "byte": 0, "type": "u16", "endianness": "little"},
            {"name": "b1", "byte": 1},
            {"name": "b1_again", "byte": 1},
            {"name": "tail", "byte": 3, "type": "i8"},
        ]
    )
    assert layout.decode(bytes([0x01, 0x02, 0x03, 0xFF])) == {
        "word": 0x010203FF,
        "low_le": 0x0201,
        "b1": 2,
        "b1_again": 2,
        "tail": -1,
    }


def test_bytes_past_the_last_field_are_ignored_without_a_fixed_length() -> None:
    assert compile_([{"name": "v", "byte": 0}]).decode(b"\x07trailing") == {"v": 7}


def test_a_memoryview_is_read_like_bytes() -> None:
    layout = compile_([{"name": "v", "byte": 0, "type": "u16"}])
    assert layout.decode(memoryview(b"\x00\x2a")) == {"v": 42}  # type: ignore[arg-type]


# -- bit fields ------------------------------------------------------------------------------


def test_bit_fields_count_from_the_least_significant_bit() -> None:
    layout = compile_(
        [
            {"name": "alarm", "byte": 0, "bits": [0, 1]},
            {"name": "tamper", "byte": 0, "bits": [1, 1]},
            {"name": "mode", "byte": 0, "bits": [4, 3]},
            {"name": "top", "byte": 0, "bits": [7, 1]},
        ]
    )
    assert layout.decode(bytes([0b1110_0001])) == {"alarm": 1, "tamper": 0, "mode": 6, "top": 1}


def test_bit_fields_of_a_signed_type_read_the_unsigned_value() -> None:
    layout = compile_(
        [
            {"name": "signed", "byte": 0, "type": "i16"},
            {"name": "high", "byte": 0, "type": "i16", "bits": [8, 8]},
            {"name": "whole", "byte": 0, "type": "i16", "bits": [0, 16]},
            {"name": "sign", "byte": 0, "type": "i16", "bits": [15, 1]},
        ]
    )
    assert layout.decode(b"\xff\x00") == {"signed": -256, "high": 255, "whole": 0xFF00, "sign": 1}


def test_bit_fields_apply_after_byte_order() -> None:
    # Dragino LHT65: the battery word's two top bits are a status, the rest millivolts
    fields = [
        {"name": "battery_status", "byte": 0, "type": "u16", "bits": [14, 2]},
        {"name": "battery", "byte": 0, "type": "u16", "bits": [0, 14], "scale": 0.001},
    ]
    big = compile_(fields).decode(bytes([0xCB, 0xB8]))
    assert big == {"battery_status": 3, "battery": pytest.approx(3.0)}
    little = compile_(fields, endianness="little").decode(bytes([0xB8, 0xCB]))
    assert little == big


def test_a_bit_field_of_a_whole_u32_keeps_every_bit() -> None:
    layout = compile_([{"name": "v", "byte": 0, "type": "u32", "bits": [0, 32]}])
    assert layout.decode(b"\xff\xff\xff\xff") == {"v": 0xFFFFFFFF}


# -- scale and offset ------------------------------------------------------------------------


def test_integers_stay_integers_without_scale_or_offset() -> None:
    value = compile_([{"name": "count", "byte": 0, "type": "u16"}]).decode(b"\x00\x03")["count"]
    assert value == 3 and type(value) is int


def test_scale_then_offset() -> None:
    layout = compile_(
        [
            {"name": "temperature", "byte": 0, "type": "i16", "scale": 0.01},
            {"name": "kelvin", "byte": 0, "type": "i16", "scale": 0.01, "offset": 273.15},
            {"name": "shifted", "byte": 2, "offset": -40},
            {"name": "doubled", "byte": 2, "scale": 2},
        ]
    )
    values = layout.decode(struct.pack(">hB", -1234, 60))
    assert values == {
        "temperature": pytest.approx(-12.34),
        "kelvin": pytest.approx(260.81),
        "shifted": 20.0,
        "doubled": 120.0,
    }
    assert type(values["shifted"]) is float and type(values["doubled"]) is float


def test_scale_applies_to_the_extracted_bits() -> None:
    layout = compile_([{"name": "level", "byte": 0, "bits": [4, 4], "scale": 10}])
    assert layout.decode(bytes([0x70])) == {"level": 70.0}


def test_a_scale_that_could_overflow_is_refused_at_compile_time() -> None:
    with pytest.raises(ValueError, match=r"field 'v': scale 1e\+308 overflows a float for a u32"):
        compile_([{"name": "v", "byte": 0, "type": "u32", "scale": 1e308}])


@pytest.mark.parametrize("bad", [{"scale": math.inf}, {"offset": math.nan}])
def test_a_non_finite_scale_or_offset_is_refused_at_compile_time(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"field 'v': scale .* must be finite numbers"):
        compile_([{"name": "v", "byte": 0, **bad}])


# -- frames that do not fit ------------------------------------------------------------------

SENSOR = [
    {"name": "temperature", "byte": 0, "type": "i16", "scale": 0.01},
    {"name": "humidity", "byte": 2},
    {"name": "battery", "byte": 3},
]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"\x01\x02\x03", "frame of 3 bytes is too short for field 'battery' at byte 3 (u8)"),
        (b"\x01\x02", "frame of 2 bytes is too short for field 'humidity' at byte 2 (u8)"),
        (b"\x01", "frame of 1 byte is too short for field 'temperature' at byte 0 (i16)"),
        (b"", "frame of 0 bytes is too short for field 'temperature' at byte 0 (i16)"),
    ],
)
def test_a_short_frame_names_the_first_field_that_does_not_fit(frame: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as caught:
        compile_(SENSOR).decode(frame)
    assert caught.value.reason == reason


def test_min_length_is_where_the_last_field_ends() -> None:
    assert compile_(SENSOR).min_length == 4
    assert compile_([{"name": "v", "byte": 7, "type": "f32"}]).min_length == 11


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"\x00" * 5, "frame of 5 bytes does not have the layout's fixed length of 6 bytes"),
        (b"\x00" * 7, "frame of 7 bytes does not have the layout's fixed length of 6 bytes"),
        (b"\x00" * 2, "frame of 2 bytes does not have the layout's fixed length of 6 bytes"),
    ],
)
def test_a_fixed_length_is_exact(frame: bytes, reason: str) -> None:
    layout = compile_(SENSOR, length=6)
    assert layout.decode(b"\x00" * 6) == {"temperature": 0.0, "humidity": 0, "battery": 0}
    with pytest.raises(DecodeError) as caught:
        layout.decode(frame)
    assert caught.value.reason == reason


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("endianness", ["big", "little"])
def test_an_f32_that_is_not_finite_is_refused(value: float, endianness: str) -> None:
    layout = compile_([{"name": "t", "byte": 0, "type": "f32"}], endianness=endianness)
    with pytest.raises(DecodeError) as caught:
        layout.decode(struct.pack(ORDER[endianness] + "f", value))
    assert caught.value.reason == "field 't' is not a finite number"


def test_an_f32_that_overflows_once_scaled_is_refused_with_its_raw_value() -> None:
    layout = compile_([{"name": "t", "byte": 0, "type": "f32", "scale": 1e300}])
    with pytest.raises(DecodeError) as caught:
        layout.decode(struct.pack(">f", 3e38))
    assert caught.value.reason.startswith(
        "field 't' is not a finite number after scale and offset (raw value 3."
    )


# -- properties ------------------------------------------------------------------------------

INT_TYPES = ["u8", "i8", "u16", "i16", "u32", "i32"]


def _value(type_: str) -> st.SearchStrategy[Any]:
    if type_ == "f32":
        return st.floats(width=32, allow_nan=False, allow_infinity=False)
    bits = TYPE_SIZES[type_] * 8
    if type_.startswith("u"):
        return st.integers(0, 2**bits - 1)
    return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)


@st.composite
def packed_fields(draw: st.DrawFn) -> tuple[list[dict[str, Any]], str, bytes, dict[str, Any]]:
    """Fields laid one after another with random gaps, and the frame struct packs for them."""
    layout_order = draw(st.sampled_from(["big", "little"]))
    fields: list[dict[str, Any]] = []
    frame = bytearray()
    expected: dict[str, Any] = {}
    for i in range(draw(st.integers(1, 8))):
        type_ = draw(st.sampled_from(list(CODES)))
        order = draw(st.sampled_from([None, "big", "little"]))
        frame += bytes(draw(st.integers(0, 3)))
        value = draw(_value(type_))
        field: dict[str, Any] = {"name": f"f{i}", "byte": len(frame), "type": type_}
        if order is not None:
            field["endianness"] = order
        frame += struct.pack(ORDER[order or layout_order] + CODES[type_], value)
        fields.append(field)
        expected[field["name"]] = value
    frame += bytes(draw(st.integers(0, 3)))
    return fields, layout_order, bytes(frame), expected


@PROPERTY
@given(packed_fields())
def test_values_packed_with_struct_decode_back_to_themselves(
    case: tuple[list[dict[str, Any]], str, bytes, dict[str, Any]],
) -> None:
    fields, endianness, frame, expected = case
    assert compile_(fields, endianness=endianness).decode(frame) == expected


@st.composite
def overlapping_fields(draw: st.DrawFn) -> tuple[list[dict[str, Any]], str, bytes]:
    """Integer fields at random, overlapping offsets, some with bits, over a random frame."""
    frame = draw(st.binary(min_size=4, max_size=12))
    fields: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 10))):
        type_ = draw(st.sampled_from(INT_TYPES))
        size = TYPE_SIZES[type_]
        field: dict[str, Any] = {
            "name": f"f{i}",
            "byte": draw(st.integers(0, len(frame) - size)),
            "type": type_,
            "endianness": draw(st.sampled_from(["big", "little"])),
        }
        if draw(st.booleans()):
            first = draw(st.integers(0, size * 8 - 1))
            field["bits"] = [first, draw(st.integers(1, size * 8 - first))]
        fields.append(field)
    return fields, draw(st.sampled_from(["big", "little"])), frame


def _reference(field: dict[str, Any], frame: bytes) -> int:
    """The value read the slow, obvious way, independent of struct and of the packing."""
    size = TYPE_SIZES[field["type"]]
    chunk = frame[field["byte"] : field["byte"] + size]
    bits = field.get("bits")
    value = int.from_bytes(
        chunk, field["endianness"], signed=field["type"].startswith("i") and bits is None
    )
    if bits is not None:
        value = (value >> bits[0]) & ((1 << bits[1]) - 1)
    return value


@PROPERTY
@given(overlapping_fields())
def test_overlapping_reads_agree_with_a_byte_by_byte_reference(
    case: tuple[list[dict[str, Any]], str, bytes],
) -> None:
    fields, endianness, frame = case
    decoded = compile_(fields, endianness=endianness).decode(frame)
    assert decoded == {f["name"]: _reference(f, frame) for f in fields}


@PROPERTY
@given(st.data())
def test_a_frame_shorter_than_the_layout_is_always_refused(data: st.DataObject) -> None:
    fields, endianness, frame, _ = data.draw(packed_fields())
    layout = compile_(fields, endianness=endianness)
    cut = data.draw(st.integers(0, layout.min_length - 1))
    with pytest.raises(DecodeError, match=rf"^frame of {cut} bytes? is too short for field "):
        layout.decode(frame[:cut])
