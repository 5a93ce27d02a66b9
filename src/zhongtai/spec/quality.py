"""Data quality in dataset specs: checks on fields and datasets, and cleaning transforms on fields.

Each check is a one-key mapping (`{not_null: true}`, `{range: {min: 0}}`) plus an optional `on_fail`, so a
spec reads like a list of rules. Unknown keys are errors, like everywhere else in a spec.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from zhongtai.spec.base import duration_seconds

Scalar = str | int | float | bool

TRANSFORMS = ("trim", "halfwidth", "lower", "upper", "phone", "email", "date")
FIELD_CHECKS = ("not_null", "unique", "accepted_values", "range", "regex", "references")
DATASET_CHECKS = ("freshness", "row_count_change", "unique")
# Bare words a spec may use instead of a mapping: `checks: [not_null, unique]`.
_SHORTHAND = {"not_null", "unique"}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_transform(value: str) -> str:
    if value not in TRANSFORMS:
        raise ValueError(f"unknown transform '{value}': expected one of {', '.join(TRANSFORMS)}")
    return value


def _duration(value: str) -> str:
    duration_seconds(value)
    return value


Transform = Annotated[str, AfterValidator(_known_transform)]
Duration = Annotated[str, AfterValidator(_duration)]


def _exactly_one(model: BaseModel, kinds: tuple[str, ...]) -> str:
    given = [kind for kind in kinds if getattr(model, kind) not in (None, False)]
    if len(given) != 1:
        found = f" (found {', '.join(given)})" if given else ""
        raise ValueError(f"give exactly one check per item: one of {', '.join(kinds)}{found}")
    return given[0]


class Range(_Spec):
    """Inclusive bounds; numbers, or ISO dates/timestamps as strings for date columns."""

    min: int | float | str | None = Field(default=None, description="The lowest value allowed.")
    max: int | float | str | None = Field(default=None, description="The highest value allowed.")

    @model_validator(mode="after")
    def _some_bound(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        both_numbers = isinstance(self.min, int | float) and isinstance(self.max, int | float)
        if both_numbers and self.min > self.max:  # type: ignore[operator]
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


class Reference(_Spec):
    """The value must exist in a column of another dataset's current version."""

    dataset: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")] = Field(
        description="The dataset holding the allowed values."
    )
    field: str = Field(min_length=1, description="Its column holding them.")


def _bare_checks_in_schema(schema: dict[str, Any]) -> None:
    """The JSON Schema takes the bare words `_shorthand` accepts; `properties` constrain mappings only."""
    schema.pop("type", None)
    schema["anyOf"] = [{"type": "object"}, {"type": "string", "enum": sorted(_SHORTHAND)}]


class FieldCheck(_Spec):
    """A rule every row's value of one field must meet; failing rows are quarantined (or only counted)."""

    model_config = ConfigDict(json_schema_extra=_bare_checks_in_schema)

    not_null: bool | None = Field(default=None, description="The value must be present.")
    unique: bool | None = Field(default=None, description="No two rows share the value.")
    accepted_values: list[Scalar] | None = Field(
        default=None, min_length=1, description="The value must be one of these."
    )
    range: Range | None = Field(default=None, description="The value must lie within bounds.")
    regex: str | None = Field(default=None, description="The value must match this regular expression.")
    references: Reference | None = Field(
        default=None, description="The value must exist in another dataset's column."
    )
    on_fail: Literal["quarantine", "warn"] = Field(
        default="quarantine", description="Quarantine failing rows, or only count them."
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str) and value in _SHORTHAND:
            return {value: True}
        if isinstance(value, str):
            raise ValueError(f"unknown check '{value}': expected one of {', '.join(FIELD_CHECKS)}")
        return value

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> FieldCheck:
        _exactly_one(self, FIELD_CHECKS)
        return self

    @property
    def kind(self) -> str:
        return _exactly_one(self, FIELD_CHECKS)


class Freshness(_Spec):
    """The newest value of `column` must be at most `max_age` old when the version is made."""

    column: str = Field(min_length=1, description="The time column.")
    max_age: Duration = Field(description='The oldest its newest value may be, like "2d".')


class RowCountChange(_Spec):
    """Bounds on how the row count may move from the current version to the new one."""

    max_drop: float | None = Field(
        default=None, ge=0, le=1, description="Share of rows that may be lost (0.5: at most half)."
    )
    max_growth: float | None = Field(
        default=None, gt=0, description="Growth factor allowed (10: at most ten times as many rows)."
    )

    @model_validator(mode="after")
    def _some_bound(self) -> RowCountChange:
        if self.max_drop is None and self.max_growth is None:
            raise ValueError("give max_drop, max_growth or both")
        return self


class DatasetCheck(_Spec):
    """A rule on the whole new version; by default a failure keeps the previous version current."""

    freshness: Freshness | None = Field(default=None, description="The newest row must be recent.")
    row_count_change: RowCountChange | None = Field(
        default=None, description="Bounds on how the row count moves."
    )
    unique: list[str] | None = Field(
        default=None, min_length=1, description="No two rows share these columns' values."
    )
    on_fail: Literal["block", "warn"] = Field(
        default="block", description="Keep the previous version current, or only warn."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> DatasetCheck:
        _exactly_one(self, DATASET_CHECKS)
        return self

    @property
    def kind(self) -> str:
        return _exactly_one(self, DATASET_CHECKS)


def check_transforms(values: list[str]) -> list[str]:
    """`date` changes the column's type, so it has to come last; case transforms exclude each other."""
    if "date" in values and values[-1] != "date":
        raise ValueError("'date' turns the value into a date: put it last")
    if "lower" in values and "upper" in values:
        raise ValueError("give lower or upper, not both")
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"transforms listed twice: {', '.join(duplicates)}")
    return values


Transforms = Annotated[list[Transform], AfterValidator(check_transforms)]
