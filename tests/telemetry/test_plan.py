"""Choosing where a history answer comes from, and merging aggregates (pure, no database)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.telemetry.errors import QueryError
from gateway.telemetry.retention import Retention
from gateway.telemetry.rollup import (
    DAY,
    HOUR,
    MAX_POINTS,
    MINUTE,
    SOURCE_WIDTH,
    Aggregate,
    aggregate,
    format_every,
    plan,
)

NOW = 1_773_100_800.0  # 2026-03-10 00:00 UTC
KEEP = Retention()


def ask(hours_back: float, span_hours: float, every: float | None):
    start = NOW - hours_back * HOUR
    return plan(start, start + span_hours * HOUR, every, now=NOW, retention=KEEP)


def test_fine_intervals_within_raw_retention_come_from_raw_readings() -> None:
    chosen = ask(2, 1, 30)
    assert (chosen.source, chosen.every, chosen.coarsened, chosen.notes) == ("raw", 30, False, ())


def test_intervals_of_a_minute_or_more_come_from_minute_rollups() -> None:
    assert (ask(2, 1, 60).source, ask(2, 1, 300).source) == ("1m", "1m")
    assert ask(2, 1, 300).every == 300


def test_intervals_of_an_hour_or_more_come_from_hour_rollups() -> None:
    chosen = ask(48, 24, HOUR)
    assert (chosen.source, chosen.every) == ("1h", HOUR)


def test_a_fine_interval_past_raw_retention_falls_back_to_minutes_and_says_so() -> None:
    chosen = ask(8 * 24, 1, 30)
    assert (chosen.source, chosen.every, chosen.coarsened) == ("1m", MINUTE, True)
    assert chosen.notes == ("raw readings are kept 7d: this range comes from the 1-minute "
                            "roll-ups",)


def test_past_minute_retention_only_hours_remain() -> None:
    chosen = ask(100 * 24, 24, 5 * MINUTE)
    assert (chosen.source, chosen.every) == ("1h", HOUR)
    assert "1-minute roll-ups are kept 90d" in chosen.notes[0]


def test_an_interval_a_rollup_cannot_give_is_rounded_up_to_whole_buckets() -> None:
    chosen = ask(2, 1, 90)
    assert (chosen.source, chosen.every) == ("1m", 120)
    assert chosen.notes == ("every rounded up from 1m30s to 2m: 1m roll-ups cannot be split",)


def test_the_range_is_widened_to_whole_buckets() -> None:
    chosen = plan(NOW + 10, NOW + 3590, 300, now=NOW + 3600, retention=KEEP)
    assert (chosen.start, chosen.end, chosen.buckets) == (NOW, NOW + 3600, 12)


def test_too_many_points_coarsens_to_a_nice_step_and_says_so() -> None:
    chosen = ask(7 * 24, 7 * 24, 1)
    assert chosen.every == 10 * MINUTE  # 5 minutes would be 2016 points
    assert chosen.source == "1m"
    assert chosen.buckets <= MAX_POINTS
    assert chosen.notes[0] == "every raised from 1s to 10m to keep the answer within 2000 points"


def test_exactly_max_points_is_allowed_one_more_is_not() -> None:
    start = NOW - 10 * DAY
    assert plan(start, start + MAX_POINTS * 60, 60, now=NOW, retention=KEEP).every == 60
    assert plan(start, start + MAX_POINTS * 60 + 1, 60, now=NOW, retention=KEEP).every == 120


def test_without_an_interval_the_finest_that_fits_is_chosen_silently() -> None:
    chosen = ask(24, 24, None)
    assert (chosen.every, chosen.source, chosen.coarsened, chosen.notes) == (60, "1m", False, ())
    assert ask(1, 1, None).every == 2  # 1800 points of 2 s


def test_many_years_still_fit() -> None:
    assert ask(5 * 365 * 24, 5 * 365 * 24, HOUR).every == DAY
    decades = ask(50 * 365 * 24, 50 * 365 * 24, HOUR)
    assert decades.buckets <= MAX_POINTS and decades.every == 2 * 7 * DAY


@pytest.mark.parametrize(("start", "end", "every", "message"), [
    (NOW, NOW, 60, "the range is empty: 'from' must be before 'to'"),
    (NOW, NOW - 1, 60, "the range is empty: 'from' must be before 'to'"),
    (NOW - 60, NOW, 0.5, "'every' must be at least 1s"),
    (NOW - 60, NOW, float("nan"), "'every' must be at least 1s"),
    (-5.0, NOW, 60, "the range must be between finite times after 1970"),
    (NOW, float("inf"), 60, "the range must be between finite times after 1970"),
])
def test_questions_without_an_answer_are_refused(start: float, end: float, every: float,
                                                 message: str) -> None:
    with pytest.raises(QueryError) as caught:
        plan(start, end, every, now=NOW, retention=KEEP)
    assert str(caught.value) == message


@given(st.floats(0, 6 * 365 * DAY), st.floats(1, 6 * 365 * DAY),
       st.one_of(st.none(), st.floats(1, 30 * DAY)))
def test_every_plan_fits_and_covers_the_range(back: float, span: float,
                                              every: float | None) -> None:
    start = NOW - back
    chosen = plan(start, start + span, every, now=NOW, retention=KEEP)
    assert chosen.buckets <= MAX_POINTS
    assert chosen.every % SOURCE_WIDTH[chosen.source] == 0
    assert chosen.every >= chosen.requested_every
    assert chosen.start <= start and chosen.end >= start + span
    assert chosen.start % chosen.every == 0 and chosen.end % chosen.every == 0
    if chosen.source == "raw":
        assert start >= NOW - KEEP.raw and chosen.every < MINUTE


@pytest.mark.parametrize(("seconds", "text"), [
    (1, "1s"), (90, "1m30s"), (3600, "1h"), (86400, "1d"), (93784, "1d2h3m4s"), (0, "0s")])
def test_intervals_are_written_the_way_the_api_reads_them(seconds: int, text: str) -> None:
    assert format_every(seconds) == text


@given(st.lists(st.tuples(st.floats(0, 7200), st.floats(-1e6, 1e6)), min_size=2, max_size=60,
                unique_by=lambda r: r[0]), st.integers(1, 59))
def test_merging_two_halves_gives_the_aggregate_of_the_whole(
        rows: list[tuple[float, float]], cut: int) -> None:
    random.Random(cut).shuffle(rows)
    cut = cut % (len(rows) - 1) + 1
    whole = aggregate((("d", "p", ts, v) for ts, v in rows), HOUR * 10)
    first = aggregate((("d", "p", ts, v) for ts, v in rows[:cut]), HOUR * 10)
    second = aggregate((("d", "p", ts, v) for ts, v in rows[cut:]), HOUR * 10)
    merged = first[("d", "p", 0)]
    merged.merge(second[("d", "p", 0)])
    expected = whole[("d", "p", 0)]
    assert (merged.min, merged.max, merged.count, merged.last, merged.last_ts) == (
        expected.min, expected.max, expected.count, expected.last, expected.last_ts)
    assert merged.sum == pytest.approx(expected.sum, abs=1e-6)


def test_the_last_value_is_the_latest_reading_whatever_the_arrival_order() -> None:
    bucket = Aggregate.of(5.0, ts=100.0)
    bucket.add(9.0, ts=50.0)  # arrives late, but is older
    assert (bucket.last, bucket.last_ts, bucket.min, bucket.max, bucket.count) == (
        5.0, 100.0, 5.0, 9.0, 2)
