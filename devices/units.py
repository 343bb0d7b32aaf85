"""Units Palier stores readings in, and the conversions installers may ask for.

Every unit belongs to a dimension and converts to that dimension's canonical
unit as ``canonical = value * factor + offset``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Unit:
    dimension: str
    factor: float = 1.0
    offset: float = 0.0


UNITS: dict[str, Unit] = {
    # temperature, canonical °C
    "°C": Unit("temperature"), "C": Unit("temperature"),
    "°F": Unit("temperature", 5 / 9, -32 * 5 / 9), "F": Unit("temperature", 5 / 9, -32 * 5 / 9),
    "K": Unit("temperature", 1.0, -273.15),
    # energy, canonical kWh
    "kWh": Unit("energy"), "Wh": Unit("energy", 0.001), "MWh": Unit("energy", 1000.0),
    # power, canonical W
    "W": Unit("power"), "kW": Unit("power", 1000.0), "mW": Unit("power", 0.001),
    # pressure, canonical bar
    "bar": Unit("pressure"), "mbar": Unit("pressure", 0.001), "hPa": Unit("pressure", 0.001),
    "Pa": Unit("pressure", 1e-5), "kPa": Unit("pressure", 0.01), "psi": Unit("pressure", 0.0689476),
    # volume, canonical m³
    "m³": Unit("volume"), "m3": Unit("volume"), "L": Unit("volume", 0.001),
    "l": Unit("volume", 0.001),
    # flow, canonical L/min
    "L/min": Unit("flow"), "m³/h": Unit("flow", 1000 / 60), "L/h": Unit("flow", 1 / 60),
    # electricity
    "V": Unit("voltage"), "mV": Unit("voltage", 0.001),
    "A": Unit("current"), "mA": Unit("current", 0.001),
    # ratios and concentrations
    "%": Unit("ratio"), "ppm": Unit("concentration"),
    "s": Unit("duration"), "min": Unit("duration", 60.0), "h": Unit("duration", 3600.0),
    "dBm": Unit("signal"),
}


def convertible(from_unit: str, to_unit: str) -> bool:
    a, b = UNITS.get(from_unit), UNITS.get(to_unit)
    return a is not None and b is not None and a.dimension == b.dimension


def converter(from_unit: str, to_unit: str) -> tuple[float, float]:
    """``(factor, offset)`` such that ``value_in_to = value_in_from * factor + offset``."""
    if not convertible(from_unit, to_unit):
        raise ValueError(f"cannot convert {from_unit} to {to_unit}")
    a, b = UNITS[from_unit], UNITS[to_unit]
    # from → canonical: v*a.f + a.o ; canonical → to: (c - b.o) / b.f
    return a.factor / b.factor, (a.offset - b.offset) / b.factor
