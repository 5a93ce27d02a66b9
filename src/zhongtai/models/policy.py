"""Who may do what to a model version: the one function every review step and alias move asks.

Today it knows two rules: someone must be named (the API key's name over HTTP, `ZT_PRINCIPAL` on the CLI),
and the principal who submitted a version may not approve it (four eyes). When principals gain roles and
workspaces, the policy check goes into `authorize` and nowhere else; the CLI and the gateway already call it
through models/review.py and models/aliases.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.records import ModelStatus

# A principal is an API key's name or ZT_PRINCIPAL, kept in 128-character columns and printed in history
# tables: printable, no surrounding blanks.
_PRINCIPAL = re.compile(r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]{0,126}[^\s\x00-\x1f\x7f])?$")
WHO_HINT = "set ZT_PRINCIPAL to your name on the CLI; over HTTP the API key's name is the principal"


class ModelAction(StrEnum):
    """What a principal does to a model version."""

    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    ARCHIVE = "archive"
    ALIAS = "alias"  # point, move or remove an alias, or roll it back


@dataclass(frozen=True)
class Target:
    """The version acted on, with what the rules need to know about it."""

    model: str
    version: int
    status: ModelStatus
    submitted_by: str | None = None


def check_principal(principal: str | None) -> str:
    """The principal as given, if it is one: up to 128 printable characters, no surrounding blanks."""
    if not principal:
        raise ZhongtaiError("unauthorized", "no principal: model review steps record who acted", WHO_HINT)
    if not _PRINCIPAL.match(principal):
        raise ZhongtaiError(
            "invalid_argument",
            f"principal of {len(principal)} characters is not a name: "
            "use up to 128 printable characters without surrounding blanks",
            WHO_HINT,
        )
    return principal


def authorize(principal: str | None, action: ModelAction, target: Target) -> str:
    """The principal, if they may do `action` to `target`; `forbidden` naming the rule otherwise."""
    who = check_principal(principal)
    if action is ModelAction.APPROVE and target.submitted_by == who:
        raise ZhongtaiError(
            "forbidden",
            f"{who} submitted {target.model} v{target.version} and may not approve it too (four eyes)",
            f"another principal approves it: `zhongtai models approve {target.model} {target.version}`",
        )
    return who
