"""gateway.retry: which failures are waited out quietly, and what is logged."""

from __future__ import annotations

import logging
import random

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from gateway.backoff import Backoff
from gateway.retry import StoreRetry, describe, is_transient
from gateway.telemetry.errors import StoreError


def refused() -> OperationalError:
    return OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))


def test_a_lost_connection_is_transient_even_wrapped() -> None:
    assert is_transient(refused())
    try:
        try:
            raise refused()
        except OperationalError as exc:
            raise StoreError("telemetry database x: connection refused") from exc
    except StoreError as wrapped:
        assert is_transient(wrapped)


def test_a_broken_constraint_or_a_bug_is_not_transient() -> None:
    assert not is_transient(IntegrityError("INSERT", {}, ValueError("duplicate key")))
    assert not is_transient(KeyError("device"))


def test_describe_is_one_line_without_sql() -> None:
    text = describe(refused())
    assert text == "ConnectionRefusedError: connection refused"
    assert "SELECT" not in text and "\n" not in text


def test_the_outage_is_one_warning_per_attempt_then_one_line_when_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    retry = StoreRetry("storing a batch", Backoff(base=0.2, cap=1.0, rng=random.Random(1)),
                       clock=lambda: now[0])
    caplog.set_level(logging.INFO, "gateway.retry")
    delays = [retry.failed(refused(), pending=12) for _ in range(6)]
    assert all(0 < d <= 1.0 for d in delays) and delays[-1] > delays[0]
    now[0] = 104.5
    retry.succeeded()
    records = [r for r in caplog.records if r.name == "gateway.retry"]
    assert [r.levelname for r in records] == ["WARNING"] * 7
    assert all(r.exc_info is None for r in records), "no traceback for a database away"
    assert "12 messages kept unacknowledged, attempt 1" in records[0].getMessage()
    assert records[-1].getMessage() == ("storing a batch works again after 4.5s and 6 failed "
                                        "attempts")
    assert retry.attempts == 0


def test_anything_else_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    retry = StoreRetry("storing a batch")
    caplog.set_level(logging.INFO, "gateway.retry")
    retry.failed(IntegrityError("INSERT", {}, ValueError("duplicate key")), pending=1)
    [record] = caplog.records
    assert record.levelname == "ERROR" and record.exc_info is not None
