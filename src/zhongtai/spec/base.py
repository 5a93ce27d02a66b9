"""The base of every spec object and the annotated types they share (names, descriptions, owners).

Its own module so that a spec kind kept in a file of its own (a task's settings, say) can build on it
without importing `spec/models.py`, which imports those files.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Description = Annotated[str, Field(description="Free text shown in the catalog and by `describe` commands.")]
Owner = Annotated[str | None, Field(description="The team or person answerable for the object (catalog).")]
# A model alias: 63 characters at most, the width of the alias columns of the metadata store.
AliasName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]


class Spec(BaseModel):
    """The base of every spec object: unknown keys are errors, and a validated spec never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


DURATION = re.compile(r"^(\d+)([smhdw])$")
_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def duration_seconds(value: str) -> int:
    """Seconds in a duration such as `30d`, `12h`, `90m`."""
    match = DURATION.match(value)
    if not match:
        raise ValueError(f'expected a duration like "30d", "12h" or "90m", got {value!r}')
    return int(match.group(1)) * _DURATION_SECONDS[match.group(2)]


def duration(value: str, where: str) -> timedelta:
    """A duration given on a command line or in a request (`7d`); invalid_argument naming `where` (the
    option or field) when it is not one."""
    from zhongtai.errors import ZhongtaiError

    try:
        return timedelta(seconds=duration_seconds(value))
    except ValueError:
        raise ZhongtaiError(
            "invalid_argument", f"{where} {value!r}: give a duration like 7d, 24h or 90m"
        ) from None
    except OverflowError:
        raise ZhongtaiError(
            "invalid_argument", f"{where} {value!r} is longer than any calendar holds"
        ) from None


Duration = Annotated[str, AfterValidator(lambda v: (duration_seconds(v), v)[1])]
