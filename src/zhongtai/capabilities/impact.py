"""The impact of a composed capability change before it is applied: its model and score bands replayed over
the decisions the capability logged (capabilities/replay.py), so whoever edits the bands sees how many
answers would flip, and to what, before any caller gets one."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from zhongtai.capabilities.replay import replay
from zhongtai.errors import ZhongtaiError
from zhongtai.spec.documents import check_references, read_document
from zhongtai.spec.models import SCORE_BAND_TASKS, ModelSpec

if TYPE_CHECKING:
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore


def document_impact(
    store: MetadataStore, storage: LakeStorage, text: str, source: str, since: datetime, limit: int
) -> list[dict[str, Any]]:
    """For each capability the document declares: `replayed` with the replay report of its logged decisions
    since `since` (at most `limit`) under the document's spec, or why there is nothing to replay (`new`: it
    is not registered, so no decision was logged; `unsupported`: its model does not answer by score bands,
    or its version cannot score the logged features, with the reason)."""
    declared, lines = read_document(text, source)
    check_references(store, declared, lines, source)
    registered = store.registered("capabilities")
    impacts: list[dict[str, Any]] = []
    for name, spec in declared["capabilities"].items():
        if name not in registered:
            impacts.append({"capability": name, "status": "new"})
            continue
        task = ModelSpec.model_validate(store.spec("models", spec.model)).task
        if task not in SCORE_BAND_TASKS:
            impacts.append({"capability": name, "status": "unsupported", "message": f"a {task} model"})
            continue
        try:
            report = replay(store, storage, name, spec.alias, since, limit, spec=spec)
        except ZhongtaiError as exc:
            impacts.append({"capability": name, "status": "unsupported", "message": exc.message})
            continue
        impacts.append({"capability": name, "status": "replayed", "report": report.to_dict()})
    return impacts
