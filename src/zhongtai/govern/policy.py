"""The one policy engine: may this principal do this action to this object? Default deny, in memory.

Every `policies` spec of the project compiles into two dicts keyed by (action, principal token, object
token), one for `deny` rules and one for `allow` rules. A check looks up each of the principal's few tokens
(`*`, `key:NAME`, `role:R`..., `workspace:W`) against each of the object's (its name, `*`, `workspace:W`
of the workspace holding it): a dozen dict lookups, then the verdict is memoized, so a repeated check is one
lookup. Order: a key's scopes, then deny rules, then the built-in `admin` role, then allow rules, then
deny by default. Every verdict names the rule that decided it.

The gateway (one FastAPI dependency, gateway/authz.py) and the CLI (`require_cli`) call `check` and nothing
else decides. A running gateway follows applied policies through `LivePolicy`, which polls the metadata
store's change counter off the event loop and swaps in a newly compiled engine with one assignment.
"""

from __future__ import annotations

import fnmatch
import getpass
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zhongtai.errors import ErrorCode, ZhongtaiError
from zhongtai.govern.principal import Principal
from zhongtai.spec.policy import PII_ACTION, WORKSPACE_KINDS, LimitSpec, PolicySpec

if TYPE_CHECKING:
    from zhongtai.meta.store import MetadataStore

log = logging.getLogger(__name__)

ADMIN_ROLE = "admin"
BUILTIN_ADMIN = "builtin.admin"
DEFAULT_DENY = "default-deny"
SCOPE_RULE = "key-scopes"
# Reading one's own identity and grants (`GET /v1/me`): every authenticated principal may, whatever the rules.
SELF_ACTION = "whoami"
BUILTIN_SELF = "builtin.self"
# The kind of object each action is about (read_catalog takes the kind it is given).
ACTION_KIND = {
    "call": "capabilities",
    "see_explanation": "capabilities",
    "change_traffic": "capabilities",
    "review": "capabilities",
    "read_dataset": "datasets",
    PII_ACTION: "datasets",
    "read_features": "feature_views",
    "push_features": "feature_views",
    "train": "models",
    "submit": "models",
    "approve": "models",
    "promote": "models",
    "read_models": "models",
}
_NOUN = {
    "capabilities": "capability",
    "datasets": "dataset",
    "feature_views": "feature view",
    "feature_groups": "feature group",
    "models": "model",
}
_CACHE_SIZE = 65_536  # verdicts memoized; the table is rebuilt from scratch when it fills


@dataclass(frozen=True)
class Verdict:
    """An allow or a deny, the rule that decided it (`POLICY.RULE`, `builtin.admin`, `default-deny`), and
    a sentence a 403 body can carry: who, which action, which object, never a secret."""

    allowed: bool
    rule: str
    message: str

    def raise_if_denied(self) -> None:
        """`forbidden` (403) with the verdict's message when it denies."""
        if not self.allowed:
            raise ZhongtaiError(
                ErrorCode.FORBIDDEN,
                self.message,
                "an admin grants it in a `policies` spec (docs/governance.md); zhongtai apply",
            )


@dataclass(frozen=True)
class Bucket:
    """One token bucket a principal's requests draw from: its id, refill rate (per second) and size."""

    id: str
    rate: float
    burst: float
    limit: str  # the limit's name, `POLICY.LIMIT`, for the 429


class PolicyEngine:
    """The compiled rules of every policy; immutable once built (a new spec builds a new engine)."""

    def __init__(self, policies: Iterable[PolicySpec] = ()) -> None:
        self._allow: dict[tuple[str, str, str], str] = {}
        self._deny: dict[tuple[str, str, str], str] = {}
        self._granted: dict[tuple[str, str], str] = {}  # (action, principal token) -> a rule allowing it
        self._exact: dict[tuple[str, str], str] = {}  # (kind, object name) -> workspace
        self._patterns: list[tuple[str, str, str]] = []  # (kind, pattern, workspace)
        self._limits: list[tuple[str, LimitSpec]] = []
        self.roles: set[str] = {ADMIN_ROLE}
        self._verdicts: dict[tuple[Any, ...], Verdict] = {}
        self._placed: dict[tuple[str, str], str | None] = {}
        self._buckets: dict[Principal, tuple[Bucket, ...]] = {}
        for policy in policies:
            self._compile(policy)

    def _compile(self, policy: PolicySpec) -> None:
        for rule in policy.rules:
            table = self._deny if rule.effect == "deny" else self._allow
            named = f"{policy.name}.{rule.name}"
            for action in rule.actions:
                for who in rule.principals:
                    if who.startswith("role:"):
                        self.roles.add(who[5:])
                    if rule.effect == "allow":
                        self._granted.setdefault((action, who), named)
                    for target in rule.objects:
                        table.setdefault((action, who, target), named)
        for workspace in policy.workspaces:
            for kind in WORKSPACE_KINDS:
                for member in getattr(workspace, kind):
                    if any(c in member for c in "*?["):
                        self._patterns.append((kind, member, workspace.name))
                    else:
                        self._exact.setdefault((kind, member), workspace.name)
        self._limits.extend((f"{policy.name}.{limit.name}", limit) for limit in policy.limits)

    def workspace_of(self, kind: str, name: str) -> str | None:
        """The workspace holding an object, or None when no workspace declares it."""
        key = (kind, name)
        if key not in self._placed:
            found = self._exact.get(key)
            if found is None:
                found = next(
                    (
                        ws
                        for k, pattern, ws in self._patterns
                        if k == kind and fnmatch.fnmatchcase(name, pattern)
                    ),
                    None,
                )
            if len(self._placed) >= _CACHE_SIZE:  # names come from request paths: bounded like verdicts
                self._placed.clear()
            self._placed[key] = found
        return self._placed[key]

    def check(self, principal: Principal, action: str, obj: str = "*", kind: str | None = None) -> Verdict:
        """The verdict on `principal` doing `action` to object `obj` (of `kind`; by default the action's)."""
        key = (principal, action, obj, kind)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._decide(principal, action, obj, kind or ACTION_KIND.get(action.partition(":")[0]))
            self._remember(key, verdict)
        return verdict

    def _remember(self, key: tuple[Any, ...], verdict: Verdict) -> None:
        if len(self._verdicts) >= _CACHE_SIZE:
            self._verdicts.clear()
        self._verdicts[key] = verdict

    def require(self, principal: Principal, action: str, obj: str = "*", kind: str | None = None) -> Verdict:
        """The allowing verdict; `forbidden` (403) naming the action, the object and the reason otherwise."""
        verdict = self.check(principal, action, obj, kind)
        verdict.raise_if_denied()
        return verdict

    def may_ever(self, principal: Principal, action: str) -> Verdict:
        """Whether any rule lets the principal do `action` to some object (a listing's first question: the
        listing then shows only the objects `check` allows)."""
        key = (principal, action, None, "ever")
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._ever(principal, action)
            self._remember(key, verdict)
        return verdict

    def _ever(self, principal: Principal, action: str) -> Verdict:
        if action == SELF_ACTION:
            return Verdict(True, BUILTIN_SELF, f"{principal.describe()} may read their own grants")
        scoped = self._scope_denial(principal, action, f"{action} on any object")
        if scoped is not None:
            return scoped
        rule = _match(self._deny, _actions(action), principal.tokens, ["*"])
        if rule is not None:
            return Verdict(
                False, rule, f"{principal.describe()} may not {action} on any object: denied by rule {rule}"
            )
        if ADMIN_ROLE in principal.roles:
            return Verdict(True, BUILTIN_ADMIN, f"{principal.describe()} is an admin")
        for act in _actions(action):
            for who in principal.tokens:
                granted = self._granted.get((act, who))
                if granted is not None:
                    return Verdict(True, granted, f"{principal.describe()} may {action}: rule {granted}")
        return self._default_deny(principal, f"{action} on any object")

    def _decide(self, principal: Principal, action: str, obj: str, kind: str | None) -> Verdict:
        doing = f"{action} {_NOUN.get(kind or '', 'object')} '{obj}'" if obj != "*" else action
        scoped = self._scope_denial(principal, action, doing)
        if scoped is not None:
            return scoped
        targets = [obj] if obj == "*" else [obj, "*"]
        workspace = self.workspace_of(kind, obj) if kind and obj != "*" else None
        if workspace is not None:
            targets.append(f"workspace:{workspace}")
        actions = _actions(action)
        rule = _match(self._deny, actions, principal.tokens, targets)
        if rule is not None:
            return Verdict(False, rule, f"{principal.describe()} may not {doing}: denied by rule {rule}")
        if ADMIN_ROLE in principal.roles:
            return Verdict(True, BUILTIN_ADMIN, f"{principal.describe()} is an admin")
        rule = _match(self._allow, actions, principal.tokens, targets)
        if rule is not None:
            return Verdict(True, rule, f"{principal.describe()} may {doing}: rule {rule}")
        return self._default_deny(principal, doing)

    def _scope_denial(self, principal: Principal, action: str, doing: str) -> Verdict | None:
        if not principal.scopes or action in principal.scopes or action.partition(":")[0] in principal.scopes:
            return None
        return Verdict(
            False,
            SCOPE_RULE,
            f"{principal.describe()} may not {doing}: the key's scopes ({', '.join(principal.scopes)}) exclude it",
        )

    def _default_deny(self, principal: Principal, doing: str) -> Verdict:
        message = f"{principal.describe()} may not {doing}: no rule grants it"
        unknown = [r for r in principal.roles if r not in self.roles]
        if unknown and len(unknown) == len(principal.roles):
            message += f" (role {', '.join(unknown)} is not named by any policy)"
        return Verdict(False, DEFAULT_DENY, message)

    def buckets(self, principal: Principal) -> tuple[Bucket, ...]:
        """The rate-limit buckets a request of this principal draws from (none: unlimited)."""
        cached = self._buckets.get(principal)
        if cached is not None:
            return cached
        found = []
        for named, limit in self._limits:
            if not set(limit.principals) & set(principal.tokens):
                continue
            if limit.shared_by == "workspace" and principal.workspace:
                bucket_id = f"{named}:workspace:{principal.workspace}"
            else:
                bucket_id = f"{named}:{principal.tokens[1]}"
            burst = float(limit.burst) if limit.burst is not None else limit.per_minute
            found.append(Bucket(bucket_id, limit.per_minute / 60.0, burst, named))
        result = tuple(found)
        if len(self._buckets) >= _CACHE_SIZE:
            self._buckets.clear()
        self._buckets[principal] = result
        return result


def _match(
    table: dict[tuple[str, str, str], str],
    actions: tuple[str, ...],
    tokens: tuple[str, ...],
    targets: list[str],
) -> str | None:
    """The first rule of `table` covering one of the actions, principal tokens and object tokens."""
    for act in actions:
        for who in tokens:
            for target in targets:
                rule = table.get((act, who, target))
                if rule is not None:
                    return rule
    return None


def _actions(action: str) -> tuple[str, ...]:
    """The rule actions that cover `action`: itself, `*`, and `see_pii:*` for one PII class."""
    if action.startswith(PII_ACTION + ":"):
        return (action, f"{PII_ACTION}:*", "*")
    return (action, "*")


def lockout(policies: Iterable[PolicySpec]) -> Verdict | None:
    """The deny that would leave no one able to manage grants (an admin denied `manage_grants`), or None."""
    admin = Principal("any-admin", (ADMIN_ROLE,))
    verdict = PolicyEngine(policies).check(admin, "manage_grants")
    return None if verdict.allowed else verdict


def specs_of(store: MetadataStore) -> list[PolicySpec]:
    """The applied policies, as spec objects."""
    return [PolicySpec.model_validate(payload) for _, payload in sorted(store.registered("policies").items())]


def load_engine(store: MetadataStore) -> PolicyEngine:
    """The engine of every policy applied to the store."""
    return PolicyEngine(specs_of(store))


def cli_principal(environ: Mapping[str, str] | None = None) -> Principal:
    """Who runs the CLI: a local admin (they hold the metadata store's credentials), named by ZT_PRINCIPAL
    or the login name, so deny rules and the record of who acted still apply to them."""
    env = os.environ if environ is None else environ
    return Principal(env.get("ZT_PRINCIPAL") or getpass.getuser(), (ADMIN_ROLE,), via="cli")


def require_cli(store: MetadataStore, action: str, obj: str = "*", kind: str | None = None) -> Principal:
    """The CLI's check: the same engine the gateway asks, for the CLI's principal; `forbidden` when denied."""
    principal = cli_principal()
    load_engine(store).require(principal, action, obj, kind)
    return principal


class LivePolicy:
    """The engine a gateway serves with, recompiled when the store's change counter moves."""

    def __init__(self, load: Callable[[], PolicyEngine], signal: Callable[[], Any], interval: float) -> None:
        self._load = load
        self._signal = signal
        self._interval = interval
        self._seen: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.engine = load()
        self.reloads = 0

    def start(self) -> LivePolicy:
        """Take the current signal as the baseline and poll it in a daemon thread."""
        self._seen = self._read()
        self._thread = threading.Thread(target=self._run, name="zhongtai-policy-watcher", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop polling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def poll(self) -> bool:
        """One poll: recompile when the signal moved; True when a new engine was swapped in."""
        signal = self._read()
        if signal is None or signal == self._seen:
            return False
        try:
            engine = self._load()
        except Exception as exc:
            # Keep enforcing the rules in force: an engine that cannot load must not open or close every door.
            log.warning("policy reload failed, the previous policies stay in force: %s", type(exc).__name__)
            return False
        self.engine = engine
        self._seen = signal
        self.reloads += 1
        return True

    def _read(self) -> Any:
        try:
            return self._signal()
        except Exception as exc:
            log.warning("policy watcher cannot read the metadata store: %s", type(exc).__name__)
            return None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.poll()
