"""The governed commands on the metadata store itself, as the local admin (cli/governed.py chooses).

Whoever holds the store's credentials is an admin (`govern/policy.py` `cli_principal`), named by
`ZT_PRINCIPAL` or the login name; the same policy engine the gateway asks still checks them, so deny rules
and the record of who acted apply. Review steps and alias moves need `ZT_PRINCIPAL` set (four eyes compares
names, so a name must be given, not guessed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from zhongtai.cli import context
from zhongtai.errors import ErrorCode, ZhongtaiError
from zhongtai.govern import key_admin

if TYPE_CHECKING:
    from zhongtai.meta.store import MetadataStore

_PROGRESS_FROM = 5_000  # records: a shorter log verifies in well under a second


class LocalGoverned:
    """The backend without `ZT_URL`: every command on `context.store()`."""

    where = "the metadata store"
    local = True

    def _manager(self, action: str) -> tuple[MetadataStore, str, str]:
        """The store, the CLI's principal and the rule that lets it do `action` (for the audit log), once
        the policy engine the gateway uses has said yes."""
        from zhongtai.govern.policy import cli_principal, load_engine

        store = context.store()
        principal = cli_principal()
        verdict = load_engine(store).require(principal, action)
        return store, principal.name, verdict.rule

    def create_key(
        self,
        name: str,
        roles: list[str],
        *,
        workspace: str | None,
        owner: str | None,
        scopes: list[str],
        expires: str | None,
    ) -> dict[str, Any]:
        store, who, rule = self._manager("manage_keys")
        return key_admin.create_key(
            store, name, roles, who, rule, owner=owner, workspace=workspace, scopes=scopes, expires=expires,
            where="--expires",
        )  # fmt: skip

    def rotate_key(self, name: str, grace: str) -> dict[str, Any]:
        store, who, rule = self._manager("manage_keys")
        return key_admin.rotate_key(store, name, grace, who, rule, where="--grace")

    def keys(self) -> list[dict[str, Any]]:
        listed = self._manager("manage_keys")[0].access.keys()
        return [k.to_dict() for k in listed]

    def revoke_key(self, name: str) -> dict[str, Any]:
        store, who, rule = self._manager("manage_keys")
        return key_admin.revoke_key(store, name, who, rule)

    def review(self, reference: str, version: str | None, action: str, comment: str) -> dict[str, Any]:
        from zhongtai.models import registry
        from zhongtai.models.policy import ModelAction
        from zhongtai.models.review import review

        store = context.store()
        model, number = registry.version_of(store, reference, version)
        found = review(store, model, number, ModelAction(action), named_principal(), comment)
        return {**found.to_dict(), "status": found.status.value}

    def show_version(self, model: str, version: int) -> dict[str, Any]:
        from zhongtai.models import registry

        return registry.show(context.store(), model, version)

    def move_alias(self, reference: str, version: str | None, alias: str, reason: str) -> dict[str, Any]:
        from zhongtai.models import aliases, registry

        store, who = context.store(), named_principal()
        model, number = registry.version_of(store, reference, version)
        return aliases.move(store, model, number, alias, who, reason).to_dict()

    def remove_alias(self, model: str, alias: str, reason: str) -> dict[str, Any]:
        from zhongtai.models import aliases

        return aliases.remove(context.store(), model, alias, named_principal(), reason).to_dict()

    def rollback(self, model: str, alias: str, reason: str) -> dict[str, Any]:
        from zhongtai.models import aliases

        return aliases.rollback(context.store(), model, alias, named_principal(), reason).to_dict()

    def split(self, capability: str, arms: list[str], reason: str) -> dict[str, Any]:
        from zhongtai.capabilities.traffic import effective_policy, parse_split, set_split
        from zhongtai.govern.policy import require_cli
        from zhongtai.models.runs import principal
        from zhongtai.spec.models import CapabilitySpec

        store, who = context.store(), principal()
        require_cli(store, "change_traffic", capability)  # the gateway's policy engine, for the CLI
        spec = CapabilitySpec.model_validate(store.spec("capabilities", capability))
        policy = set_split(store, capability, parse_split(arms, effective_policy(store, spec)), who, reason)
        return {"policy": policy.model_dump(mode="json"), "by": who}

    def reset_split(self, capability: str, reason: str) -> bool:
        from zhongtai.govern.policy import require_cli
        from zhongtai.models.runs import principal

        store = context.store()
        require_cli(store, "change_traffic", capability)
        return store.traffic.reset(capability, principal(), reason)

    def canary(
        self, capability: str, arm: str, steps: list[float], every: str, complete: str, reason: str
    ) -> dict[str, Any]:
        from zhongtai.capabilities.ramp import start_canary
        from zhongtai.govern.policy import require_cli
        from zhongtai.models.runs import principal

        store = context.store()
        require_cli(store, "change_traffic", capability)
        policy = start_canary(store, capability, arm, steps, every, complete, principal(), reason)
        return policy.model_dump(mode="json")

    def promote(self, capability: str, reason: str) -> tuple[str, int]:
        from zhongtai.capabilities.ramp import promote_canary
        from zhongtai.govern.policy import require_cli
        from zhongtai.models.runs import principal

        store = context.store()
        require_cli(store, "change_traffic", capability)
        return promote_canary(store, capability, principal(), reason)

    def verify_audit(self) -> dict[str, Any]:
        from zhongtai.cli.output import progress
        from zhongtai.govern.audit_head import head_file
        from zhongtai.govern.audit_verify import verify

        settings, store = context.settings(), context.store()
        head = head_file(settings.metadata_url, settings.home)
        if store.audit.count() < _PROGRESS_FROM:
            return verify(store, head).to_dict()
        with progress() as bar:
            task = bar.add_task("verify", total=None, detail="records")

            def on_progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return verify(store, head, on_progress).to_dict()

    def audit_records(
        self, kind: str | None, principal: str | None, object_contains: str | None, limit: int
    ) -> list[dict[str, Any]]:
        found = context.store().audit.records(kind, principal, object_contains, limit)
        return [r.to_dict() for r in found]

    def audit_total(self) -> int | None:
        return context.store().audit.count()

    def export_audit(self, after: int) -> Iterator[str]:
        from zhongtai.govern.audit_ecs import ecs_lines

        for page in context.store().audit.pages(after=after):
            yield from ecs_lines(page)

    def plan_policies(self, document: str, source: str) -> list[dict[str, Any]]:
        from zhongtai.govern.grants import plan_policies

        return [s.to_dict() for s in plan_policies(context.store(), document, source).steps]

    def apply_policies(self, document: str, source: str) -> list[dict[str, Any]]:
        from zhongtai.govern.grants import apply_policies

        store, who, rule = self._manager("manage_grants")
        return [s.to_dict() for s in apply_policies(store, document, source, who, rule).steps]

    def close(self) -> None:
        return None  # the store is cli/context.py's to close


def named_principal() -> str:
    """Who takes a review step or moves an alias on the CLI: ZT_PRINCIPAL, required."""
    principal = os.environ.get("ZT_PRINCIPAL", "").strip()
    if not principal:
        raise ZhongtaiError(
            ErrorCode.UNAUTHORIZED,
            "ZT_PRINCIPAL is not set: review steps and alias moves record who acted",
            "set it to your name, e.g. `ZT_PRINCIPAL=alice zhongtai models submit churn 3`",
        )
    return principal
