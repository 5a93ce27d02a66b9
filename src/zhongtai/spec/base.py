"""The base of every spec object and the annotated types they share (names, descriptions, owners).

Its own module so that a spec kind kept in a file of its own (a task's settings, say) can build on it
without importing `spec/models.py`, which imports those files.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Description = Annotated[str, Field(description="Free text shown in the catalog and by `describe` commands.")]
Owner = Annotated[str | None, Field(description="The team or person answerable for the object (catalog).")]
# A model alias: 63 characters at most, the width of the alias columns of the metadata store.
AliasName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]


class Spec(BaseModel):
    """The base of every spec object: unknown keys are errors, and a validated spec never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
