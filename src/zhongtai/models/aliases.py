"""Alias moves: point, move, remove and roll back `model@alias`, each kept in the alias history.

A **serving** alias — `champion`, every alias the model spec lists in `serving_aliases`, and every alias a
capability serves — may point only at an approved version while the spec says `require_approval: true`
(the default). No alias points at an archived version. Every move appends (model, alias, from, to, who,
when, why) in the transaction that moves it, so "which version was champion at 10:00 on 1 December" has an
answer (`aliases_at`) and a rollback is one step: the alias goes back to where its last move took it from.
The current state stays in `model_aliases`, which serving reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.audit import LOCAL_ADMIN
from zhongtai.meta.records import AliasMove, ModelStatus, ModelVersion
from zhongtai.models.policy import ModelAction, Target, authorize, check_principal
from zhongtai.models.registry import DEFAULT_ALIAS, check_alias

if TYPE_CHECKING:
    from zhongtai.meta.store import MetadataStore
    from zhongtai.spec.models import ModelSpec

_LIVE = frozenset(ModelStatus) - {ModelStatus.ARCHIVED}


def serving_aliases(store: MetadataStore, model: str) -> dict[str, str]:
    """The model's serving aliases, each with why it serves."""
    spec = _spec(store, model)
    found = {DEFAULT_ALIAS: "champion always serves"}
    for alias in spec.serving_aliases:
        found.setdefault(alias, "the model spec lists it in serving_aliases")
    for name, capability in sorted(store.registered("capabilities").items()):
        if capability.get("model") == model:
            found.setdefault(capability.get("alias", DEFAULT_ALIAS), f"capability {name} serves it")
    return found


def move(
    store: MetadataStore,
    model: str,
    version: int,
    alias: str,
    principal: str | None,
    reason: str = "",
    rule: str = LOCAL_ADMIN,
) -> AliasMove:
    """Point `model@alias` at `version` as `principal`; refused for an archived version, and for a version
    not approved when the alias serves and the spec requires approval. `rule`, the policy rule that let the
    principal act, is kept in the audit log (so for `remove` and `rollback`)."""
    check_principal(principal)
    check_alias(alias)
    store.spec("models", model)  # an unknown model says so, rather than blaming the version
    target = store.models.get(model, version)
    allowed = _allowed(store, target, alias, f"{model}@{alias} cannot point at v{version}")
    who = authorize(principal, ModelAction.ALIAS, Target(model, version, target.status))
    return store.models.move_alias(model, alias, version, who, reason, allowed=allowed, rule=rule)


def remove(
    store: MetadataStore,
    model: str,
    alias: str,
    principal: str | None,
    reason: str = "",
    rule: str = LOCAL_ADMIN,
) -> AliasMove:
    """Unset `model@alias` (the version keeps its status); recorded like any move."""
    check_principal(principal)
    check_alias(alias)
    store.spec("models", model)
    current = store.models.by_alias(model, alias)
    who = authorize(principal, ModelAction.ALIAS, Target(model, current.version, current.status))
    return store.models.move_alias(
        model,
        alias,
        None,
        who,
        reason,
        action="remove",
        check_from=True,
        expected_from=current.version,
        rule=rule,
    )


def rollback(
    store: MetadataStore,
    model: str,
    alias: str = DEFAULT_ALIAS,
    principal: str | None = None,
    reason: str = "",
    rule: str = LOCAL_ADMIN,
) -> AliasMove:
    """Move `model@alias` back to where its last move took it from, in one step recorded like any move.

    Refused when the alias has no history, when its last move created it, and when the version it held
    before may no longer be pointed at (archived, or no longer approved for a serving alias).
    """
    check_principal(principal)
    check_alias(alias)
    moves = history(store, model, alias)
    if not moves:
        raise ZhongtaiError(
            "conflict",
            f"{model}@{alias} has no history: there is nothing to roll back to",
            f"point it with `zhongtai models alias {model} VERSION {alias}`",
        )
    last = moves[-1]
    if last.from_version is None:
        raise ZhongtaiError(
            "conflict",
            f"{model}@{alias} was first set by its last move (to v{last.to_version}): "
            "there is no earlier version to roll back to",
            f"remove it with `zhongtai models alias {model} --remove {alias}`",
        )
    target = store.models.get(model, last.from_version)
    doing = f"{model}@{alias} cannot roll back to v{target.version}"
    allowed = _allowed(store, target, alias, doing)
    who = authorize(principal, ModelAction.ALIAS, Target(model, target.version, target.status))
    return store.models.move_alias(
        model,
        alias,
        target.version,
        who,
        reason,
        action="rollback",
        allowed=allowed,
        check_from=True,
        expected_from=last.to_version,
        rule=rule,
    )


def history(store: MetadataStore, model: str, alias: str | None = None) -> list[AliasMove]:
    """Every move of the model's aliases (or of one), oldest first."""
    store.spec("models", model)
    return store.models.alias_moves(model, check_alias(alias) if alias is not None else None)


def aliases_at(store: MetadataStore, model: str, at: datetime) -> dict[str, int]:
    """Where each alias of the model pointed at moment `at` (a naive time is UTC); unset aliases are left
    out. Aliases set before history was kept (migration 0009) count from that migration on."""
    store.spec("models", model)
    moment = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    found: dict[str, int | None] = {}
    for m in store.models.alias_moves(model, at_or_before=moment):
        found[m.alias] = m.to_version
    return {alias: version for alias, version in sorted(found.items()) if version is not None}


def _allowed(store: MetadataStore, target: ModelVersion, alias: str, doing: str) -> frozenset[ModelStatus]:
    """The statuses `target` may have to carry `alias` (the store re-checks them in its transaction);
    a refusal says which step is missing."""
    ref, command = f"{target.model} v{target.version}", f"{target.model} {target.version}"
    if target.status is ModelStatus.ARCHIVED:
        raise ZhongtaiError(
            "conflict",
            f"{doing}: {ref} is archived, and an archived version cannot carry an alias",
            f"pick a live version: `zhongtai models list {target.model}`",
        )
    serving = serving_aliases(store, target.model)
    if alias not in serving or not _spec(store, target.model).require_approval:
        return _LIVE
    if target.status is ModelStatus.APPROVED:
        return frozenset({ModelStatus.APPROVED})
    steps = {
        ModelStatus.REGISTERED: (
            f"submit it (`zhongtai models submit {command}`) and have another principal approve it"
        ),
        ModelStatus.PENDING_REVIEW: (
            f"it waits for review: have another principal approve it (`zhongtai models approve {command}`)"
        ),
        ModelStatus.REJECTED: f"it was rejected: train a new version of {target.model} and submit that",
    }
    raise ZhongtaiError(
        "conflict",
        f"{ref} is {target.status.value.replace('_', ' ')}, not approved: {steps[target.status]}",
        f"{alias} serves ({serving[alias]}) and the model spec requires approval; {doing} until then",
    )


def _spec(store: MetadataStore, model: str) -> ModelSpec:
    from zhongtai.spec.models import ModelSpec

    return ModelSpec.model_validate(store.spec("models", model))
