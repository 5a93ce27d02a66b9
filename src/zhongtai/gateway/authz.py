"""The one dependency every governed route declares: who is calling, may they, and are they within limits.

`allow(action, path_param)` authenticates the request's credential (401), asks the policy engine whether
the principal may do `action` to the object the path names (403 naming the action, the object and the
rule), and takes a rate-limit token (429 with Retry-After), in that order, before the handler runs (and
before a name is looked up, so a 404 never tells a stranger what exists). A route whose objects come from the
body or that lists objects declares the action without a path parameter: the dependency then requires that
some rule grants the action, and the handler asks `Access.require` / `Access.allows` per object: the same
engine, never a role compared by hand. The action a route declares is on the dependency (`Guard.action`),
so the authorization matrix test reads it from the app's route table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from zhongtai.errors import ErrorCode, ZhongtaiError
from zhongtai.govern.identity import presented_credential
from zhongtai.govern.policy import PolicyEngine
from zhongtai.govern.principal import Principal

# A decision's factors name the features that drove it and their values: only for a caller allowed this.
EXPLAIN = "see_explanation"


@dataclass(frozen=True)
class Access:
    """The principal of a request, the action its route declared, and the engine that judged it."""

    principal: Principal
    action: str
    engine: PolicyEngine

    def allows(self, obj: str, kind: str | None = None) -> bool:
        """Whether the principal may do the route's action to `obj` (a listing keeps only these)."""
        return self.engine.check(self.principal, self.action, obj, kind).allowed

    def may(self, action: str, obj: str, kind: str | None = None) -> bool:
        """Whether the principal may also do `action` to `obj` (what an answer may include, such as the
        explanation of a decision, beyond what the route's action allowed)."""
        return self.engine.check(self.principal, action, obj, kind).allowed

    def rule(self, obj: str, kind: str | None = None) -> str:
        """The rule that allows the route's action on `obj` (what the audit log records)."""
        return self.engine.check(self.principal, self.action, obj, kind).rule

    def require(self, obj: str, kind: str | None = None) -> None:
        """`forbidden` (403) unless the principal may do the route's action to `obj`."""
        self.engine.require(self.principal, self.action, obj, kind)


class Guard:
    """The dependency: `Depends(Guard(action, path_param))`, built by `allow`."""

    def __init__(self, action: str, path_param: str | None = None, kind: str | None = None) -> None:
        self.action = action
        self.path_param = path_param
        self.kind = kind

    async def __call__(self, request: Request) -> Access:
        gateway = request.app.state.gateway
        if gateway is None:
            raise ZhongtaiError(ErrorCode.UNAVAILABLE, "capabilities are loading", "retry in a moment")
        credential = presented_credential(request.headers)
        principal = gateway.identities.fast(credential)
        if principal is None:  # the store or the JWKS must be asked: off the event loop
            principal = await run_in_threadpool(gateway.identities.resolve, credential)
        engine: PolicyEngine = gateway.policy.engine
        if self.path_param is not None:
            engine.require(principal, self.action, request.path_params[self.path_param], self.kind)
        else:
            engine.may_ever(principal, self.action).raise_if_denied()
        await gateway.limits.take(engine, principal)
        return Access(principal, self.action, engine)


def allow(action: str, path_param: str | None = None, kind: str | None = None) -> Any:
    """A route parameter's dependency: `access: Annotated[Access, allow("call", "name")]`."""
    return Depends(Guard(action, path_param, kind))
