"""Governing over HTTP, so no one needs the metadata store's credentials to govern: API keys, the audit log,
grants (a `policies` document), and a canary's start and promotion.

Each route declares its action on the routes' one dependency (gateway/authz.py): keys need `manage_keys`,
the audit log `read_audit`, grants `manage_grants`, a canary `change_traffic` (and its promotion also
`promote` on the model, asked of the same engine). Every change is audited naming the caller's principal
and the rule that allowed it, by the same package functions the CLI calls on an embedded store. The store
blocks, so every call runs in the thread pool, away from the decide path's event loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from zhongtai.errors import ErrorCode, ZhongtaiError
from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.models_routes import NOTE, documented_body, required_body, validated_body
from zhongtai.gateway.openapi import SECURED, errors
from zhongtai.govern import key_admin
from zhongtai.govern.principal import Principal
from zhongtai.spec.policy import ACTIONS, PII_ACTION, PII_CLASSES

if TYPE_CHECKING:
    from zhongtai.meta.store import MetadataStore

ACT_ERRORS = errors(400, 401, 403, 404, 409, 413, 422, 429)
READ_ERRORS = errors(401, 403, 422, 429)
# Names as policy rules can spell them (`key:NAME`, `role:NAME`, `workspace:NAME`).
RuleName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$")]
DURATION_PATTERN = r"^\d{1,4}[smhdw]$"  # up to 9999 weeks: every one a date can hold
# A key scope is an action as rules name it (spec/policy.py check_action), spelled out for the document.
SCOPE_PATTERN = rf"^(\*|{'|'.join(ACTIONS)}|{PII_ACTION}:({'|'.join(PII_CLASSES)}|\*))$"


class KeyCreate(BaseModel):
    """A new API key: who uses it, its roles (what policies grant them), workspace, owner, scopes, expiry."""

    model_config = ConfigDict(extra="forbid")
    name: RuleName
    roles: list[RuleName] = Field(default=["caller"], min_length=1, max_length=20)
    workspace: RuleName | None = None
    owner: str | None = Field(default=None, max_length=200)
    scopes: list[Annotated[str, Field(pattern=SCOPE_PATTERN)]] = Field(default=[], max_length=20)
    expires: str | None = Field(default=None, pattern=DURATION_PATTERN)


class KeyRotate(BaseModel):
    """How long the old secret keeps working."""

    model_config = ConfigDict(extra="forbid")
    grace: str = Field(default="24h", pattern=DURATION_PATTERN)


class KeyInfo(BaseModel):
    """A key as listed: never its secret, only the first characters that tell keys apart."""

    name: str
    prefix: str
    roles: list[str]
    workspace: str | None
    owner: str | None
    scopes: list[str]
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    previous_until: str | None


class KeyList(BaseModel):
    keys: list[KeyInfo]


class KeySecret(BaseModel):
    """A key with its secret: answered once, by create and rotate; the gateway keeps only its hash."""

    key: KeyInfo
    secret: str


class AuditRecordOut(BaseModel):
    """One record of the hash-chained log, the body parsed (kept as text if it no longer parses)."""

    seq: int
    at: str
    kind: str
    principal: str
    rule: str
    object: str
    body: Any
    prev_hash: str
    hash: str


class AuditRecords(BaseModel):
    records: list[AuditRecordOut]


class VerifyFinding(BaseModel):
    seq: int
    kind: str
    problem: str
    detail: str
    line: str


class VerifyAnswer(BaseModel):
    """What verify found (`ok` false names every problem), as `zhongtai audit verify --json` prints it."""

    ok: bool
    records: int
    decisions: int
    head: dict[str, Any] | None
    head_file: str | None
    findings: list[VerifyFinding]
    more_findings: int
    notes: list[str]
    summary: str


class PolicyDocument(BaseModel):
    """A `policies` spec document as YAML text, and the name its errors are reported under."""

    model_config = ConfigDict(extra="forbid")
    document: str = Field(min_length=1, max_length=1_000_000)
    source: str = Field(default="policies.yaml", min_length=1, max_length=200)


class PoliciesInForce(BaseModel):
    policies: list[dict[str, Any]]
    document: str


class PlanStepOut(BaseModel):
    kind: str
    action: str
    name: str
    changes: list[dict[str, Any]]
    breaking: list[str]
    additive: list[str]
    notes: list[str]


class PolicyPlan(BaseModel):
    """The plan of a policy document, and whether it was applied (in one transaction, audited)."""

    steps: list[PlanStepOut]
    applied: bool


class CanaryBody(BaseModel):
    """A guarded ramp of one arm (an alias, or vN): percent of traffic per step, how long each holds."""

    model_config = ConfigDict(extra="forbid")
    arm: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    steps: list[float] = Field(default=[5, 25, 50, 100], min_length=1, max_length=20)
    every: str = Field(default="10m", pattern=DURATION_PATTERN)
    complete: Literal["hold", "promote"] = "hold"
    reason: str = NOTE


class PromoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = NOTE


class CanaryAnswer(BaseModel):
    capability: str
    policy: dict[str, Any]


class Promoted(BaseModel):
    capability: str
    model: str
    version: int


def _store(request: Request) -> MetadataStore:
    return request.app.state.gateway.store


def _moment(value: Any) -> datetime:
    """An ISO 8601 moment in UTC (one without a zone is taken as UTC), as the document's `date-time`
    promises: a bare number is not one. A moment beyond what UTC can hold (year 1 east of Greenwich) is
    clamped to the first or last one: it is before or after every record either way."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise ValueError("expected an ISO 8601 date-time, e.g. 2026-03-03T10:00:00Z")
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)


def add_governance_routes(app: FastAPI, head_path: Path | None) -> None:
    """Mount /v1/keys, /v1/audit, /v1/policies and the canary routes; `head_path` is where this store's
    audit head is exported (what verify compares the log's tail with)."""
    _add_key_routes(app)
    _add_audit_routes(app, head_path)
    _add_policy_routes(app)
    _add_canary_routes(app)


def _not_itself(principal: Principal, name: str, verb: str) -> None:
    """A key may not rotate or revoke itself here: the answer carrying its new secret, or its revocation,
    could be lost and lock its caller out (a second rotation ends the first one's grace at once)."""
    if principal.via == "key" and principal.name == name:
        raise ZhongtaiError(
            ErrorCode.CONFLICT,
            f"API key '{name}' may not {verb} itself",
            f"{verb} it with another key allowed to manage_keys, or with `zhongtai keys {verb}` on the store",
        )


def _add_key_routes(app: FastAPI) -> None:
    @app.post(
        "/v1/keys",
        tags=["governance"],
        status_code=201,
        response_model=KeySecret,
        responses=ACT_ERRORS,
        openapi_extra=documented_body(KeyCreate, required=True),
    )
    async def create_key(request: Request, access: Annotated[Access, allow("manage_keys")]) -> Any:
        """Make an API key; its secret is in this answer and nowhere else, ever."""

        body = await required_body(request, KeyCreate)
        access.require(body.name)
        store, who, rule = _store(request), access.principal.name, access.rule(body.name)
        return await run_in_threadpool(
            key_admin.create_key,
            store,
            body.name,
            list(body.roles),
            who,
            rule,
            owner=body.owner,
            workspace=body.workspace,
            scopes=list(body.scopes),
            expires=body.expires,
        )

    @app.get(
        "/v1/keys", tags=["governance"], response_model=KeyList, responses=READ_ERRORS, openapi_extra=SECURED
    )
    async def list_keys(request: Request, access: Annotated[Access, allow("manage_keys")]) -> Any:
        """Every key with its prefix, roles, workspace, expiry and revocation; never a secret."""
        keys = await run_in_threadpool(_store(request).access.keys)
        return {"keys": [k.to_dict() for k in keys if access.allows(k.name)]}

    @app.post(
        "/v1/keys/{name}/rotate",
        tags=["governance"],
        response_model=KeySecret,
        responses=ACT_ERRORS,
        openapi_extra=documented_body(KeyRotate, required=False),
    )
    async def rotate_key(
        request: Request, name: str, access: Annotated[Access, allow("manage_keys", "name")]
    ) -> Any:
        """Give the key a new secret (answered once); the old one works until the grace ends."""
        _not_itself(access.principal, name, "rotate")
        body = await validated_body(request, KeyRotate, required=False) or KeyRotate()
        store, who, rule = _store(request), access.principal.name, access.rule(name)
        return await run_in_threadpool(key_admin.rotate_key, store, name, body.grace, who, rule)

    @app.delete(
        "/v1/keys/{name}",
        tags=["governance"],
        response_model=KeyInfo,
        responses=ACT_ERRORS,
        openapi_extra=SECURED,
    )
    async def revoke_key(
        request: Request, name: str, access: Annotated[Access, allow("manage_keys", "name")]
    ) -> Any:
        """Revoke the key (and a rotated-out secret in its grace); gateways refuse it within 30 s."""
        _not_itself(access.principal, name, "revoke")
        store, who, rule = _store(request), access.principal.name, access.rule(name)
        return await run_in_threadpool(key_admin.revoke_key, store, name, who, rule)


def _add_audit_routes(app: FastAPI, head_path: Path | None) -> None:
    @app.get(
        "/v1/audit/verify",
        tags=["governance"],
        response_model=VerifyAnswer,
        responses=READ_ERRORS,
        openapi_extra=SECURED,
    )
    async def verify_audit(request: Request, access: Annotated[Access, allow("read_audit")]) -> Any:
        """Walk the whole chain and compare its tail with the exported head; `ok` false names every edited,
        deleted, inserted or reordered record (a 200 either way: the verdict is the answer)."""
        from zhongtai.govern.audit_verify import verify

        report = await run_in_threadpool(verify, _store(request), head_path)
        return report.to_dict()

    @app.get(
        "/v1/audit/records",
        tags=["governance"],
        response_model=AuditRecords,
        responses=READ_ERRORS,
        openapi_extra=SECURED,
    )
    async def audit_records(
        request: Request,
        access: Annotated[Access, allow("read_audit")],
        kind: str | None = Query(default=None, max_length=64),
        principal: str | None = Query(default=None, max_length=200),
        object: str | None = Query(default=None, max_length=200),
        since: Annotated[
            datetime | None, BeforeValidator(_moment), Query(description="Records at or after this moment.")
        ] = None,
        until: Annotated[
            datetime | None, BeforeValidator(_moment), Query(description="Records before this moment.")
        ] = None,
        offset: int = Query(default=0, ge=0, le=10_000_000, description="Matching records skipped."),
        limit: int = Query(default=50, ge=1, le=10_000),
    ) -> Any:
        """Recent records, newest first, matching every filter given (object by substring); `offset` and
        `limit` page through them."""
        found = await run_in_threadpool(
            partial(
                _store(request).audit.records,
                kind,
                principal,
                object or None,
                limit,
                since=since,
                until=until,
                offset=offset,
            )
        )
        return {"records": [r.to_dict() for r in found]}

    @app.get(
        "/v1/audit/export",
        tags=["governance"],
        responses={
            200: {
                "description": "The log as JSON lines in Elastic Common Schema, oldest first.",
                "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
            },
            **READ_ERRORS,
        },
        response_class=StreamingResponse,
        openapi_extra=SECURED,
    )
    async def export_audit(
        request: Request,
        access: Annotated[Access, allow("read_audit")],
        after: int = Query(default=0, ge=0, le=2**63 - 1),
    ) -> StreamingResponse:
        """Every record numbered above `after` as one ECS event per line, streamed page by page."""
        from zhongtai.govern.audit_ecs import ecs_lines

        store = _store(request)

        def lines() -> Iterator[str]:  # a sync generator: Starlette runs it in the thread pool
            for page in store.audit.pages(after=after):
                yield "".join(ecs_lines(page))

        return StreamingResponse(lines(), media_type="application/x-ndjson")


def _add_policy_routes(app: FastAPI) -> None:
    @app.get(
        "/v1/policies",
        tags=["governance"],
        response_model=PoliciesInForce,
        responses=READ_ERRORS,
        openapi_extra=SECURED,
    )
    async def policies_in_force(request: Request, access: Annotated[Access, allow("manage_grants")]) -> Any:
        """The policies in force (rules, workspaces, limits), and as the `policies` document to edit and
        plan again."""
        from zhongtai.govern.grants import policies_document

        payloads, text = await run_in_threadpool(policies_document, _store(request))
        return {"policies": payloads, "document": text}

    for applying in (False, True):
        _add_policy_route(app, applying)


def _add_policy_route(app: FastAPI, applying: bool) -> None:
    guard = allow("manage_grants")  # a default, not an annotation (see models_routes._add_review_route)

    async def grants(request: Request, access: Access = guard) -> Any:
        from zhongtai.govern.grants import apply_policies, plan_policies

        body = await required_body(request, PolicyDocument)
        store, who = _store(request), access.principal.name
        rule = access.engine.may_ever(access.principal, "manage_grants").rule
        if applying:
            plan = await run_in_threadpool(apply_policies, store, body.document, body.source, who, rule)
        else:
            plan = await run_in_threadpool(plan_policies, store, body.document, body.source)
        return {"steps": [s.to_dict() for s in plan.steps], "applied": applying and not plan.empty}

    grants.__doc__ = (
        "Apply a `policies` document in one transaction, audited: each policy it names is created or "
        "replaced. Refused (409) if no admin could manage grants afterwards."
        if applying
        else "What applying a `policies` document would create or change; nothing is written."
    )
    verb = "apply" if applying else "plan"
    app.post(
        f"/v1/policies/{verb}",
        tags=["governance"],
        name=f"{verb}_policies",
        response_model=PolicyPlan,
        responses=ACT_ERRORS,
        openapi_extra=documented_body(PolicyDocument, required=True),
    )(grants)


def _add_canary_routes(app: FastAPI) -> None:
    @app.post(
        "/v1/capabilities/{name}/traffic/canary",
        tags=["capabilities"],
        response_model=CanaryAnswer,
        responses=ACT_ERRORS,
        openapi_extra=documented_body(CanaryBody, required=True),
    )
    async def start_canary(
        request: Request, name: str, access: Annotated[Access, allow("change_traffic", "name")]
    ) -> Any:
        """Start a guarded canary ramp of one arm; every gateway steps it up while its guards hold."""
        from zhongtai.capabilities.ramp import start_canary as start

        body = await required_body(request, CanaryBody)
        store, who = _store(request), access.principal.name
        policy = await run_in_threadpool(
            start,
            store,
            name,
            body.arm,
            body.steps,
            body.every,
            body.complete,
            who,
            body.reason,
            access.rule(name),
        )
        return {"capability": name, "policy": policy.model_dump(mode="json")}

    @app.post(
        "/v1/capabilities/{name}/traffic/promote",
        tags=["capabilities"],
        response_model=Promoted,
        responses=ACT_ERRORS,
        openapi_extra=documented_body(PromoteBody, required=False),
    )
    async def promote_canary(
        request: Request, name: str, access: Annotated[Access, allow("change_traffic", "name")]
    ) -> Any:
        """Promote a canary that finished its ramp and waits: champion moves to its version (four eyes
        hold) and the live split is dropped. Needs `promote` on the capability's model as well."""
        from zhongtai.capabilities.ramp import promote_canary as promote
        from zhongtai.spec.models import CapabilitySpec

        body = await validated_body(request, PromoteBody, required=False) or PromoteBody()
        store, principal = _store(request), access.principal
        spec = await run_in_threadpool(store.spec, "capabilities", name)
        model = CapabilitySpec.model_validate(spec).model
        rule = access.engine.require(principal, "promote", model).rule
        model, version = await run_in_threadpool(promote, store, name, principal.name, body.reason, rule)
        return {"capability": name, "model": model, "version": version}
