"""The binary layout language installers write in YAML (TTN ``frm_payload``, raw frames).

Kept apart from the decoder so the config schema can import it without the codec.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FieldType = Literal["u8", "i8", "u16", "i16", "u32", "i32", "f32"]
TYPE_SIZES: dict[str, int] = {"u8": 1, "i8": 1, "u16": 2, "i16": 2, "u32": 4, "i32": 4, "f32": 4}


class LayoutField(BaseModel):
    """One value in a frame: ``byte`` is its offset; ``bits`` picks [first bit, bit count]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    byte: int = Field(ge=0, le=4096)
    type: FieldType = "u8"
    bits: tuple[int, int] | None = None
    endianness: Literal["big", "little"] | None = None  # overrides the layout's
    scale: float = 1.0
    offset: float = 0.0

    @model_validator(mode="after")
    def _bits_fit(self) -> LayoutField:
        if self.bits is not None:
            first, count = self.bits
            width = TYPE_SIZES[self.type] * 8
            if self.type == "f32":
                raise ValueError("bit fields apply to integer types, not f32")
            if first < 0 or count < 1 or first + count > width:
                raise ValueError(f"bits {list(self.bits)} do not fit in a {width}-bit {self.type}")
        return self


class Layout(BaseModel):
    """How to read a binary frame into named values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endianness: Literal["big", "little"] = "big"
    length: int | None = Field(default=None, ge=1, description="exact frame length, if fixed")
    fields: list[LayoutField] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> Layout:
        seen: set[str] = set()
        for f in self.fields:
            if f.name in seen:
                raise ValueError(f"field name {f.name!r} is used twice")
            seen.add(f.name)
            end = f.byte + TYPE_SIZES[f.type]
            if self.length is not None and end > self.length:
                raise ValueError(f"field {f.name!r} ends at byte {end}, past length {self.length}")
        return self
