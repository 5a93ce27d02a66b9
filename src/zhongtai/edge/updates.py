"""Asking a gateway whether a bundle is still current: `GET /v1/capabilities`, which lists the version each
capability serves now and, per traffic arm, what each arm serves.

The bundle serves one arm (the capability's alias when it was exported, `champion` by default); the
version that arm serves now on the gateway is compared with the bundle's. Standard library only (urllib),
so the check runs wherever the bundle does.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from .errors import EdgeError

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class UpdateStatus:
    """The bundle's version against the one the gateway serves for the same arm."""

    capability: str
    bundled: int
    serving: int | None

    @property
    def newer(self) -> bool:
        """A newer version than the bundle's serves on the gateway."""
        return self.serving is not None and self.serving > self.bundled

    def describe(self) -> str:
        """One line for people: `up to date`, or `newer version N available`."""
        if self.newer:
            return f"{self.capability}: newer version {self.serving} available (bundle has {self.bundled})"
        if self.serving is None or self.serving == self.bundled:
            return f"{self.capability}: up to date (version {self.bundled})"
        return f"{self.capability}: up to date (bundle has {self.bundled}, the gateway serves {self.serving})"


def _listing(gateway: str, key: str) -> dict[str, Any]:
    url = gateway.rstrip("/") + "/v1/capabilities"
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {key}", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        raise EdgeError(
            "unavailable",
            f"gateway {gateway} answered {exc.code} to GET /v1/capabilities",
            "check the URL and that the key may call the capability" if exc.code in (401, 403) else None,
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        raise EdgeError(
            "unavailable", f"gateway {gateway} could not be asked ({type(exc).__name__})"
        ) from None


def check_for_update(gateway: str, key: str, capability: str, arm: str, bundled: int) -> UpdateStatus:
    """What the gateway at `gateway` serves now for the bundle's capability and arm, as an UpdateStatus."""
    if not gateway.startswith(("http://", "https://")):
        raise EdgeError("invalid_argument", f"gateway URL {gateway!r} must start with http:// or https://")
    listing = _listing(gateway, key)
    for entry in listing.get("capabilities", []):
        if entry.get("name") != capability:
            continue
        serving = entry.get("model", {}).get("version")
        for described in entry.get("traffic", []):
            if described.get("arm") == arm or described.get("serves") == arm:
                serving = described.get("version", serving)
                break
        return UpdateStatus(capability, bundled, serving)
    raise EdgeError(
        "not_found",
        f"gateway {gateway} lists no capability '{capability}' this key may call",
        "the key needs the `call` action on the capability",
    )
