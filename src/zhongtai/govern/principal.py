"""Who acts: an API key, an OIDC subject or the CLI, with roles, a workspace and (for keys) scopes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# What `Principal.via` says about where the identity came from; a rule names the first two as `key:` / `sub:`.
Via = Literal["key", "oidc", "cli"]
_TOKEN_KIND = {"key": "key", "oidc": "sub", "cli": "key"}


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. `scopes`, when not empty, narrow what the key may do below its roles."""

    name: str
    roles: tuple[str, ...]
    workspace: str | None = None
    scopes: tuple[str, ...] = ()
    via: Via = "key"
    # The names policy rules may use for this principal, computed once: the engine looks each one up.
    tokens: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tokens = ["*", f"{_TOKEN_KIND[self.via]}:{self.name}", *(f"role:{r}" for r in self.roles)]
        if self.workspace:
            tokens.append(f"workspace:{self.workspace}")
        object.__setattr__(self, "tokens", tuple(tokens))
        object.__setattr__(
            self, "_hash", hash((self.name, self.roles, self.workspace, self.scopes, self.via))
        )

    def __hash__(self) -> int:
        # Computed once: every policy check hashes the principal to find its memoized verdict.
        return self._hash

    def describe(self) -> str:
        """How verdicts name the principal: its kind and name, never a secret."""
        return f"{'API key' if self.via == 'key' else 'token subject' if self.via == 'oidc' else 'CLI user'} '{self.name}'"
