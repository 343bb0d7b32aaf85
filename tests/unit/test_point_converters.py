"""devices.registry.point_converter gives exactly what coerce gives: values and errors."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from devices.records import Point
from devices.registry import coerce, point_converter

RAW = st.one_of(st.booleans(), st.integers(-10**6, 10**6),
                st.floats(allow_nan=True, allow_infinity=True),
                st.sampled_from(["on", "OFF", "true", "Open", "x", "12", ""]), st.none())
POINTS = st.builds(
    Point,
    name=st.sampled_from(["temperature", "state"]),
    path=st.just("p"),
    type=st.sampled_from(["bool", "number", "text"]),
    unit=st.sampled_from(["", "°C"]),
    scale=st.sampled_from([1.0, 0.1, 2.0]),
    offset=st.sampled_from([0.0, -3.0]),
    value_map=st.one_of(st.none(), st.just({"on": True, "1": 5, "true": "yes"})),
    low=st.sampled_from([None, -40.0]),
    high=st.sampled_from([None, 85.0]),
).filter(lambda p: (p.low is None) == (p.high is None))


def outcome(convert, point: Point, raw: object) -> tuple[str, object]:
    try:
        value = convert(point, raw)
    except (ValueError, TypeError, OverflowError) as exc:
        return (type(exc).__name__, str(exc))
    if isinstance(value, float) and math.isnan(value):
        return ("nan", None)
    return (type(value).__name__, value)


@settings(max_examples=600, deadline=None)
@given(POINTS, st.lists(RAW, min_size=1, max_size=6))
def test_a_compiled_converter_agrees_with_coerce(point: Point, raws: list) -> None:
    compiled = point_converter(point)
    for raw in raws:
        assert (outcome(lambda _p, r: compiled(r), point, raw)
                == outcome(coerce, point, raw)), (point, raw)
