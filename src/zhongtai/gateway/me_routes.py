"""`GET /v1/me`: who the caller is and what the policy lets them do, asked of the one engine.

The console draws its navigation from this answer (a page the caller may not use is not rendered), and an
SDK user can ask which actions a key holds before trying them. Every authenticated principal may read its
own grants (the policy's built-in `whoami`); the answer names, for each action, the rule that decided it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI
from pydantic import BaseModel

from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.openapi import SECURED, errors
from zhongtai.govern.policy import SELF_ACTION
from zhongtai.spec.policy import ACTIONS, PII_ACTION, PII_CLASSES


class Grant(BaseModel):
    """Whether some rule lets the caller do an action to some object, and the rule that decided it."""

    allowed: bool
    rule: str


class Me(BaseModel):
    """The calling principal and its grants."""

    name: str
    via: str
    roles: list[str]
    workspace: str | None
    scopes: list[str]
    actions: dict[str, Grant]


def add_me_route(app: FastAPI) -> None:
    """Mount `GET /v1/me`."""

    @app.get("/v1/me", tags=["governance"], responses=errors(401, 429), openapi_extra=SECURED)
    def me(access: Annotated[Access, allow(SELF_ACTION)]) -> Me:
        """The caller's identity, roles, workspace and, per action (and per PII class seen in clear),
        whether some rule grants it on some object. Objects are still checked one by one when used."""
        principal, engine = access.principal, access.engine
        actions = [*ACTIONS, *(f"{PII_ACTION}:{pii}" for pii in PII_CLASSES)]
        grants = {}
        for action in actions:
            verdict = engine.may_ever(principal, action)
            grants[action] = Grant(allowed=verdict.allowed, rule=verdict.rule)
        return Me(
            name=principal.name,
            via=principal.via,
            roles=list(principal.roles),
            workspace=principal.workspace,
            scopes=list(principal.scopes),
            actions=grants,
        )
