"""The installer's YAML for rules (``config/rules/*.yaml``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from devices.durations import Duration
from devices.schema import ID_PATTERN

Severity = Literal["critical", "major", "minor", "warning", "info"]
Scope = Literal["unit", "floor", "entrance", "building", "neighbourhood"]
Scalar = bool | int | float | str


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ValueTest(Strict):
    """A test on one value: exactly one of ``is``, ``above``, ``below``."""

    is_: Scalar | None = Field(default=None, alias="is")
    above: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _one_test(self) -> ValueTest:
        tests = (("is", self.is_), ("above", self.above), ("below", self.below))
        given = [name for name, v in tests if v is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of is, above, below (got {', '.join(given) or 'none'})"
            )
        return self

    def test(self, value: object) -> bool:
        """True when ``value`` passes; another type never does (``1`` is not ``true``)."""
        if self.is_ is not None:
            return (type(value) is type(self.is_) and value == self.is_) or (
                _is_number(value) and _is_number(self.is_) and value == self.is_
            )
        if not _is_number(value):
            return False
        if self.above is not None:
            return value > self.above  # type: ignore[operator]
        return self.below is not None and value < self.below  # type: ignore[operator]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class PointCondition(ValueTest):
    """Which devices and which point a rule watches, and the test on its value."""

    kind: str | None = None
    device: str | None = None
    place: str | None = Field(default=None, description="only devices at or under this place")
    point: str


class ClearCondition(ValueTest):
    """When an active alarm clears; the point defaults to the raising condition's."""

    point: str | None = None


class Clear(Strict):
    when: ClearCondition
    for_: Duration = Field(default=0.0, alias="for")


class Text(Strict):
    """A template in French and English (Jinja2, sandboxed)."""

    fr: str
    en: str


class PostAction(Strict):
    scope: Scope = "building"
    kind: Literal["alert", "notice"] = "alert"
    title: Text | str
    body: Text | str | None = None


class RaiseActions(Strict):
    notify: Literal["managers", "none"] = "managers"
    post: PostAction | None = None


class Rule(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str | None = None
    when: PointCondition
    for_: Duration = Field(default=0.0, alias="for")
    severity: Severity = "major"
    raise_: RaiseActions = Field(default_factory=RaiseActions, alias="raise")
    clear: Clear | None = None


class RuleFile(Strict):
    rules: list[Rule] = Field(default_factory=list)
