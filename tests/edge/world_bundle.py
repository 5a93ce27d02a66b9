"""Bundles of the test worlds, exported through the same functions the CLI calls."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zhongtai.features.online.base import OnlineStore
from zhongtai.integrate.bundle import ExportedBundle, bundle_parts, export_bundle
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore


def export(
    store: MetadataStore,
    storage: LakeStorage,
    online: OnlineStore,
    capability: str,
    out: Path,
    entities: Sequence[Any] = (),
    **options: Any,
) -> ExportedBundle:
    """Export `capability` to `out` with a snapshot of `entities` (keys as a caller sends them)."""
    parts = bundle_parts(store, storage, capability)
    keyed = [(f"entities:{i + 1}", key) for i, key in enumerate(entities)]
    return export_bundle(online, parts, out, entities=keyed, **options)
