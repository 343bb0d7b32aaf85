"""rules.conditions.compile_test answers exactly as rules.schema.ValueTest.test does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.conditions import compile_test
from rules.schema import ValueTest

VALUES = st.one_of(st.booleans(), st.integers(-50, 50), st.floats(allow_nan=True),
                   st.sampled_from(["on", "off", "1", ""]), st.none())
TESTS = st.one_of(
    st.builds(lambda v: {"is": v}, st.one_of(st.booleans(), st.integers(-5, 5),
                                             st.floats(-5, 5), st.sampled_from(["on", "1"]))),
    st.builds(lambda v, h: {"above": v, "hysteresis": h}, st.floats(-50, 50), st.floats(0, 5)),
    st.builds(lambda v, h: {"below": v, "hysteresis": h}, st.floats(-50, 50), st.floats(0, 5)),
    st.builds(lambda lo, span, h: {"between": [lo, lo + span], "hysteresis": h},
              st.floats(-50, 50), st.floats(0, 20), st.floats(0, 5)),
    st.builds(lambda vs: {"in": vs}, st.lists(st.one_of(st.booleans(), st.integers(-3, 3),
                                                        st.text(max_size=2)), min_size=1)),
)


@settings(max_examples=500, deadline=None)
@given(TESTS, st.lists(VALUES, min_size=1, max_size=8), st.booleans())
def test_the_compiled_test_agrees_with_the_schema(spec: dict, values: list, was: bool) -> None:
    condition = ValueTest.model_validate(spec)
    compiled = compile_test(condition)
    for value in values:
        assert compiled(value, was) == condition.test(value, was_true=was), (spec, value, was)
