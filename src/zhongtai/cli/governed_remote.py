"""The governed commands through a gateway (`ZT_URL`), as the principal of `ZT_KEY` or `ZT_TOKEN`.

Nothing here opens the metadata store: every step is an SDK call (zhongtai.client), authorized by the
gateway's policy engine and audited by the gateway under the key's principal. The gateway's errors come
back as the CLI's own: a 403 prints the verdict (the action, the object, the rule that denied) as the red
error line and exits non-zero.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx

from zhongtai.client import ApiError, Client, ConnectionFailed
from zhongtai.errors import ErrorCode, ZhongtaiError

T = TypeVar("T")
# Verify walks the whole chain and an export streams it: reads may take minutes, connecting may not.
_TIMEOUT = httpx.Timeout(30.0, read=900.0)


class RemoteGoverned:
    """The backend with `ZT_URL`: every command is a call to that gateway."""

    local = False

    def __init__(self, url: str, credential: str) -> None:
        self.where = url
        self._client = Client(url, credential, timeout=_TIMEOUT)
        self._api = self._client.governance

    def _call(self, call: Callable[[], T]) -> T:
        with self._translated():
            return call()

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """The SDK's errors as the CLI's: code, message and hint as the gateway sent them."""
        try:
            yield
        except ApiError as exc:
            known = exc.code in ErrorCode.__members__.values()
            code = exc.code if known else (ErrorCode.INTERNAL if exc.status >= 500 else ErrorCode.CONFLICT)
            raise ZhongtaiError(code, exc.message, exc.hint) from None
        except ConnectionFailed as exc:
            raise ZhongtaiError(
                ErrorCode.UNAVAILABLE,
                f"cannot reach the gateway at {self.where}: {exc}",
                "check ZT_URL and that the gateway runs (zhongtai serve), or unset ZT_URL",
            ) from None

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
        return self._call(
            lambda: self._api.create_key(
                name, roles, workspace=workspace, owner=owner, scopes=scopes, expires=expires
            )
        )

    def rotate_key(self, name: str, grace: str) -> dict[str, Any]:
        return self._call(lambda: self._api.rotate_key(name, grace))

    def keys(self) -> list[dict[str, Any]]:
        return self._call(self._api.keys)

    def revoke_key(self, name: str) -> dict[str, Any]:
        return self._call(lambda: self._api.revoke_key(name))

    def _version_of(self, reference: str, version: str | None) -> tuple[str, int]:
        """`churn 3`, `churn:3` or `churn@champion` (asked of the gateway), as `registry.version_of` reads
        them on the store."""
        model, target = reference, version
        for separator in (":", "@"):
            if separator in reference and version is None:
                model, _, target = reference.partition(separator)
                if separator == "@" and target and not target.isdigit():
                    return model, self._alias_version(model, target)
        if not model or set(model) & {":", "@"} or not target or not target.isdigit() or int(target) < 1:
            raise ZhongtaiError(
                ErrorCode.INVALID_ARGUMENT,
                f"{' '.join(filter(None, (reference, version)))!r} does not name a model version",
                "write it as `churn 3`, `churn:3` or `churn@champion`",
            )
        return model, int(target)

    def _alias_version(self, model: str, alias: str) -> int:
        versions = self._call(lambda: self._api.model_versions(model))
        found = [v["version"] for v in versions if alias in v.get("aliases", ())]
        if not found:
            raise ZhongtaiError(
                ErrorCode.NOT_FOUND,
                f"alias '{alias}' of model '{model}' points at no version",
                f"zhongtai models history {model}",
            )
        return int(found[0])

    def review(self, reference: str, version: str | None, action: str, comment: str) -> dict[str, Any]:
        model, number = self._version_of(reference, version)
        return self._call(lambda: self._api.review(model, number, action, comment))

    def show_version(self, model: str, version: int) -> dict[str, Any]:
        return self._call(lambda: self._api.show_version(model, version))

    def move_alias(self, reference: str, version: str | None, alias: str, reason: str) -> dict[str, Any]:
        model, number = self._version_of(reference, version)
        return self._call(lambda: self._api.set_alias(model, alias, number, reason))

    def remove_alias(self, model: str, alias: str, reason: str) -> dict[str, Any]:
        return self._call(lambda: self._api.remove_alias(model, alias, reason))

    def rollback(self, model: str, alias: str, reason: str) -> dict[str, Any]:
        return self._call(lambda: self._api.rollback_alias(model, alias, reason))

    def split(self, capability: str, arms: list[str], reason: str) -> dict[str, Any]:
        from zhongtai.capabilities.traffic import checked_policy, parse_split

        current = checked_policy(self._call(lambda: self._api.traffic(capability))["policy"])
        policy = parse_split(arms, current).model_dump(mode="json", exclude={"canary"}, exclude_none=True)
        state = self._call(
            lambda: self._api.set_split(capability, policy["arms"], policy.get("shadows", ()), reason)
        )
        return {"policy": state["policy"], "by": state["history"][0]["actor"]}

    def reset_split(self, capability: str, reason: str) -> bool:
        before = self._call(lambda: self._api.traffic(capability))
        self._call(lambda: self._api.reset_split(capability, reason))
        return bool(before["origin"] == "live")

    def canary(
        self, capability: str, arm: str, steps: list[float], every: str, complete: str, reason: str
    ) -> dict[str, Any]:
        answer = self._call(lambda: self._api.start_canary(capability, arm, steps, every, complete, reason))
        return answer["policy"]

    def promote(self, capability: str, reason: str) -> tuple[str, int]:
        answer = self._call(lambda: self._api.promote_canary(capability, reason))
        return str(answer["model"]), int(answer["version"])

    def verify_audit(self) -> dict[str, Any]:
        return self._call(self._api.verify_audit)

    def audit_records(
        self, kind: str | None, principal: str | None, object_contains: str | None, limit: int
    ) -> list[dict[str, Any]]:
        return self._call(lambda: self._api.audit_records(kind, principal, object_contains, limit))

    def audit_total(self) -> int | None:
        return None  # the gateway streams the export; counting first would walk the log twice

    def export_audit(self, after: int) -> Iterator[str]:
        with self._translated():
            for line in self._api.export_audit(after):
                if line:
                    yield line + "\n"

    def plan_policies(self, document: str, source: str) -> list[dict[str, Any]]:
        return self._call(lambda: self._api.plan_policies(document, source))["steps"]

    def apply_policies(self, document: str, source: str) -> list[dict[str, Any]]:
        return self._call(lambda: self._api.apply_policies(document, source))["steps"]

    def close(self) -> None:
        self._client.close()
