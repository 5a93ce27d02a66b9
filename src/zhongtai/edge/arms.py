"""Traffic arms at the edge: the same sticky choice as the gateway's (the platform's capabilities/traffic.py).

A keyed 64-bit BLAKE2b hash of the request's entity key (its canonical JSON) against the cumulative weight
bounds of the arms, salted with the capability's name: the same person lands in the same arm at the edge
as at every gateway process, for as long as the weights the bundle was exported with stand.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from typing import Any

_HASH_SPACE = 2**64


class ArmChooser:
    """Sticky weighted choice: a keyed 64-bit hash of the entity key against cumulative weight bounds."""

    def __init__(self, salt: str, weights: Sequence[float]) -> None:
        total = float(sum(weights))
        running, bounds = 0.0, []
        for weight in weights[:-1]:
            running += weight
            bounds.append(int(running / total * _HASH_SPACE))
        self._bounds = bounds
        self._salt = salt.encode() + b"\x00"

    def choose(self, key: str) -> int:
        """The index of the arm for `key`: always the same for the same key and weights."""
        digest = hashlib.blake2b(self._salt + key.encode(), digest_size=8).digest()
        return bisect_right(self._bounds, int.from_bytes(digest, "big"))


def sticky_key(inputs: Mapping[str, Any], field: str) -> str:
    """The text hashed to choose an arm: the request's entity key in a canonical JSON form."""
    return json.dumps(inputs.get(field), sort_keys=True, default=str, ensure_ascii=False)
