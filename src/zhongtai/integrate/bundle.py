"""Export a capability as an edge bundle: a folder that decides in process with numpy and LightGBM alone.

`export_bundle` writes, for every arm of the capability's traffic policy (its alias alone by default) and the
version each serves now:

- `model/v<version>/<artifact file>`: the model artifact as the registry holds it (LightGBM model text or
  JSON);
- `capability.json`: the entity key rules, the fallback and how many factors to explain; per arm its
  weight, the feature order and where each feature sits in the views' values, the score or value bands,
  and each on-demand feature's expression as its checked tree (so the edge needs no parser);
- `snapshot.json` (with `entities`): the online values of those entities, as the gateway would read them
  (OneID's lookup too, for a capability called with a source system's key), narrowed to the features used;
- `zhongtai_edge/`: a copy of the edge runtime (src/zhongtai/edge), so the bundle carries its own reader;
- `manifest.json`: capability, model name, version and format, Zhongtai version, and every file's SHA-256.

The folder is written under a staging name beside `out` and renamed into place when complete: a reader
never sees half a bundle. Only tasks the tabular runtime serves (binary, multiclass, regression) export;
text, forecast and recommendation capabilities are refused with a clear error.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zhongtai import __version__
from zhongtai.capabilities.arms import serving_policy
from zhongtai.capabilities.canary import ramped
from zhongtai.capabilities.runtime import TASK_RUNTIMES, Answers, resolve_features
from zhongtai.capabilities.traffic import serving_version
from zhongtai.edge.bundle import CAPABILITY_FILE, SNAPSHOT_FILE
from zhongtai.edge.expressions import BINARY, LOGIC, UNARY
from zhongtai.edge.manifest import write_manifest
from zhongtai.errors import ZhongtaiError
from zhongtai.features.keys import capability_lookup, checked_entity_key
from zhongtai.features.on_demand import OnDemandFeatures, check_trained_expressions
from zhongtai.features.online.base import entity_key
from zhongtai.features.selection import select_features
from zhongtai.models.artifacts import read_artifact
from zhongtai.models.predictor import load_predictor
from zhongtai.spec.expressions import parse_expression
from zhongtai.spec.models import CapabilitySpec, EntitySpec, FeatureViewSpec, ModelSpec

if TYPE_CHECKING:
    from sqlglot import exp

    from zhongtai.features.online.base import OnlineStore
    from zhongtai.features.selection import FeatureSelection
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore

RUNTIME_DIR = "zhongtai_edge"
READ_BATCH = 1000  # entities per online read_many
Progress = Callable[[int, int], None]  # (entities snapshotted, of total)


@dataclass(frozen=True)
class ExportedBundle:
    """What `export_bundle` wrote: where, for which versions, the files with their digests."""

    path: Path
    capability: str
    model: str
    version: int  # the main (heaviest) arm's

    artifact_format: str
    entities: int
    known: int  # entities with at least one stored value
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    arms: list[dict[str, Any]] = field(default_factory=list)  # name, version, weight
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON."""
        body = dict(self.__dict__)
        body["path"] = str(self.path)
        return body


def tree_of(node: exp.Expr) -> dict[str, Any]:
    """A checked on-demand expression (spec/expressions.py's parse) as the edge's JSON tree: the same
    dispatch as the platform's compiler (features/on_demand.py), so both evaluate the same operations."""
    from sqlglot import exp

    kind = type(node).__name__
    if isinstance(node, exp.Column):
        return {"ref": [node.table or None, node.name]}
    if isinstance(node, exp.Null):
        return {"const": None}
    if isinstance(node, exp.Boolean):
        return {"const": bool(node.this)}
    if isinstance(node, exp.Literal):
        text = node.this
        return {"const": text if node.is_string else int(text) if text.isdigit() else float(text)}
    if isinstance(node, exp.Paren):
        return tree_of(node.this)
    if kind in BINARY or kind in LOGIC:
        return {"op": kind, "args": [tree_of(node.this), tree_of(node.expression)]}
    if kind in UNARY or isinstance(node, exp.Is):
        return {"op": kind, "args": [tree_of(node.this)]}
    if isinstance(node, exp.If):
        default = node.args.get("false")
        return {
            "case": [[tree_of(node.this), tree_of(node.args["true"])]],
            "subject": None,
            "default": tree_of(default) if default is not None else None,
        }
    if isinstance(node, exp.Case):
        default = node.args.get("default")
        return {
            "case": [[tree_of(i.this), tree_of(i.args["true"])] for i in node.args["ifs"]],
            "subject": tree_of(node.this) if node.this is not None else None,
            "default": tree_of(default) if default is not None else None,
        }
    arguments = [node.this, *(a for a in (node.args.get("expression"),) if a is not None), *node.expressions]
    return {"op": kind, "args": [tree_of(a) for a in arguments]}


@dataclass(frozen=True)
class BundleParts:
    """Everything of a bundle but the snapshot, read from the registry and the lake."""

    body: dict[str, Any]
    model_files: dict[str, bytes]
    views: tuple[FeatureViewSpec, ...]
    notes: list[str]

    @property
    def main_arm(self) -> dict[str, Any]:
        """The heaviest arm: it speaks for the bundle where one version is shown (as the gateway's listing)."""
        return max(self.body["arms"], key=lambda arm: arm["weight"])


def _on_demand_trees(selection_views: Sequence[Any], wanted: Sequence[str]) -> list[dict[str, Any]]:
    """Each wanted on-demand feature with its checked tree, in the order the platform compiles them."""
    return [
        {"view": view.name, "name": f.name, "type": f.type, "tree": tree_of(parse_expression(f.expression))}
        for view in selection_views
        for f in view.features
        if f.name in wanted
    ]


def _arm_body(
    store: MetadataStore,
    storage: LakeStorage,
    spec: CapabilitySpec,
    selection: FeatureSelection,
    groups: Sequence[str],
    serves: str,
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """What one arm serves (`serves`: an alias or `v<number>`), as the edge reads it, and its model files."""
    version = serving_version(store, spec.model, serves)
    if version.training_set_id is not None:
        trained = store.features.training_set(version.training_set_id).lineage
        check_trained_expressions(version, trained.get("on_demand", {}), selection.on_demand_views)
    predictor = load_predictor(storage, version.artifact, version.artifact_format)
    answers = Answers.of(spec, predictor)
    features, stored = list(version.features), selection.stored_views
    wanted = [*features, *groups]
    on_demand = OnDemandFeatures(selection.on_demand_views, wanted, [v.name for v in stored])
    computed = [f.name for f in on_demand.features]
    artifact_file = f"model/v{version.version}/{Path(version.artifact).name}"
    body = {
        "model": {
            "name": version.model,
            "version": version.version,
            "task": predictor.task,
            "format": version.artifact_format,
            "files": [artifact_file],
            "classes": list(getattr(predictor, "classes", ())),
        },
        "features": features,
        "slots": [list(s) for s in resolve_features(features, stored, computed)],
        "group_features": list(groups),
        "group_slots": [list(s) for s in resolve_features(groups, stored, computed)],
        "rules": [list(r) for r in answers.bands],
        "otherwise": answers.otherwise,
        "on_demand": {
            "request": on_demand.request,
            "features": _on_demand_trees(selection.on_demand_views, wanted),
        },
    }
    return body, {artifact_file: read_artifact(storage, version.artifact)}


def _arms(
    store: MetadataStore,
    storage: LakeStorage,
    spec: CapabilitySpec,
    selection: FeatureSelection,
    groups: Sequence[str],
) -> tuple[list[dict[str, Any]], dict[str, bytes], list[str]]:
    """Every arm of the traffic policy in force, with the weights of now (a canary's current step); arms
    serving the same version share one model file. Shadows never answer, so they are left out."""
    policy, state = serving_policy(store, spec)
    bodies, files, built = [], {}, {}
    for arm in ramped(policy, state).arms:
        if arm.serves not in built:
            built[arm.serves] = _arm_body(store, storage, spec, selection, groups, arm.serves)
        body, model_files = built[arm.serves]
        bodies.append({"name": arm.name, "weight": arm.weight, **body})
        files.update(model_files)
    notes = []
    if policy.canary is not None:
        notes.append(f"canary of arm '{policy.canary.arm}': the bundle keeps the weights of its current step")
    if policy.shadows:
        notes.append(
            f"shadows ({', '.join(s.name for s in policy.shadows)}) are not bundled: they never answer"
        )
    return bodies, files, notes


def bundle_parts(store: MetadataStore, storage: LakeStorage, name: str) -> BundleParts:
    """Capability `name` as the edge reads it: every arm of its traffic policy, for the versions they serve
    now."""
    spec = CapabilitySpec.model_validate(store.spec("capabilities", name))
    model_spec = ModelSpec.model_validate(store.spec("models", spec.model))
    if model_spec.task in TASK_RUNTIMES:
        raise ZhongtaiError(
            "invalid_argument",
            f"capability '{name}' answers with a {model_spec.task} model, which the edge bundle does not serve",
            "edge bundles serve binary, multiclass and regression capabilities; call the gateway for this one",
        )
    selection = select_features(
        store, model_spec.feature_views, [*model_spec.feature_groups, *spec.feature_groups]
    )
    groups = select_features(store, [], spec.feature_groups).names if spec.feature_groups else []
    entity = EntitySpec.model_validate(store.spec("entities", model_spec.entity))
    found = capability_lookup(store, spec)
    arms, model_files, notes = _arms(store, storage, spec, selection, groups)
    body = {
        "capability": name,
        "input": spec.input,
        "input_keys": [spec.input] if found else list(entity.join_keys),
        "input_key_types": ["string"] if found else list(entity.join_key_types()),
        "join_keys": list(entity.join_keys),
        "lookup": found[1] if found else None,
        "views": [v.name for v in selection.stored_views],
        "feature_groups": bool(spec.feature_groups),
        "fallback": {"decision": spec.fallback.decision, "score": spec.fallback.score},
        "explain_top": spec.explain_top,
        "arms": arms,
    }
    return BundleParts(body, model_files, selection.stored_views, notes)


def read_entities(path: Path) -> list[tuple[str, Any]]:
    """Entity keys from a file, one per line, as a caller sends them: JSON (`100005`, `"C1"`, `[101, 7]`
    for a composite key) or plain text; blank lines and `#` comments are skipped. Each key comes with
    `file:line`, which names it in errors (never its value)."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ZhongtaiError("invalid_argument", f"{path} cannot be read ({type(exc).__name__})") from None
    keys = []
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        keys.append((f"{path.name}:{number}", value))
    return keys


def _narrowed(values: dict[str, Any] | None, keep: Iterable[str]) -> dict[str, Any] | None:
    return None if values is None else {k: values[k] for k in keep if k in values}


def snapshot(
    online: OnlineStore,
    parts: BundleParts,
    entities: Sequence[tuple[str, Any]],
    progress: Progress | None = None,
) -> tuple[dict[str, Any], int]:
    """The online values the bundle's capability reads for `entities` (keys as a caller sends them), in
    batches of READ_BATCH per view; returns the snapshot and how many entities had any value."""
    body = parts.body
    lookup: str | None = body["lookup"]
    keep = {v.name: [f.name for f in v.features] for v in parts.views}
    for arm in body["arms"]:
        for index, column in arm["slots"] + arm["group_slots"]:
            if index >= 0:
                keep[body["views"][index]].append(column)
    views: dict[str, dict[str, Any]] = {view: {} for view in body["views"]}
    if lookup:
        views[lookup] = {}
    known = 0
    for start in range(0, len(entities), READ_BATCH):
        batch = entities[start : start + READ_BATCH]
        keys = [
            checked_entity_key(v, where, body["input_keys"], body["input_key_types"]) for where, v in batch
        ]
        if lookup:
            found = online.read_many(lookup, keys)
            mapped = {k: _narrowed(e, body["join_keys"]) for k, e in zip(keys, found, strict=True) if e}
            views[lookup].update(mapped)
            keys = [entity_key([m[j] for j in body["join_keys"]]) for m in mapped.values() if m is not None]
        seen: set[str] = set()
        for view in body["views"]:
            for key, values in zip(keys, online.read_many(view, keys), strict=True):
                if values is not None:
                    views[view][key] = _narrowed(values, keep[view])
                    seen.add(key)
        known += len(seen)
        if progress is not None:
            progress(min(start + READ_BATCH, len(entities)), len(entities))
    return {"views": views}, known


def _json_bytes(value: Any, what: str) -> bytes:
    try:
        return (json.dumps(value, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    except TypeError as exc:  # a value JSON cannot hold; the value itself is never quoted
        raise ZhongtaiError(
            "invalid_argument", f"{what} holds a value JSON cannot keep ({exc.__class__.__name__})"
        ) from None


def _publish(staging: Path, out: Path, replace: bool) -> None:
    """Move the complete staging folder to `out`: into an empty or absent folder, or over a bundle when
    `replace` (the old one is moved aside first, then removed)."""
    if out.exists():
        if out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        elif replace and (out / "manifest.json").is_file():
            aside = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
            out.rename(aside)
            staging.rename(out)
            shutil.rmtree(aside)
            return
        else:
            raise ZhongtaiError(
                "conflict",
                f"{out} exists and is not empty",
                "choose a new folder, or pass --replace to overwrite a bundle exported before",
            )
    staging.rename(out)


def export_bundle(
    online: OnlineStore,
    parts: BundleParts,
    out: Path,
    *,
    entities: Sequence[tuple[str, Any]] = (),
    replace: bool = False,
    progress: Progress | None = None,
) -> ExportedBundle:
    """Write the bundle of `parts` (bundle_parts) to `out` (see the module docstring), with a snapshot of
    the online values of `entities` when given; nothing is left behind if anything fails."""
    out = out.expanduser().absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.partial-{uuid.uuid4().hex[:8]}")
    staging.mkdir()
    try:
        for relative, raw in parts.model_files.items():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            (staging / relative).write_bytes(raw)
        (staging / CAPABILITY_FILE).write_bytes(_json_bytes(parts.body, CAPABILITY_FILE))
        known = 0
        if entities:
            taken, known = snapshot(online, parts, entities, progress)
            (staging / SNAPSHOT_FILE).write_bytes(_json_bytes(taken, "the snapshot"))
        _copy_runtime(staging / RUNTIME_DIR)
        manifest = write_manifest(staging, _manifest_body(parts, len(entities)))
        _publish(staging, out, replace)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return ExportedBundle(
        path=out,
        capability=manifest["capability"],
        model=manifest["model"]["name"],
        version=manifest["model"]["version"],
        artifact_format=manifest["artifact_format"],
        entities=len(entities),
        known=known,
        files=manifest["files"],
        arms=manifest["arms"],
        notes=parts.notes,
    )


def _manifest_body(parts: BundleParts, entities: int) -> dict[str, Any]:
    """What the manifest says of the bundle besides its files' digests."""
    main = parts.main_arm
    model = main["model"]
    return {
        "capability": parts.body["capability"],
        "arm": main["name"],
        "model": {"name": model["name"], "version": model["version"], "task": model["task"]},
        "artifact_format": model["format"],
        "arms": [
            {"name": a["name"], "version": a["model"]["version"], "weight": a["weight"]}
            for a in parts.body["arms"]
        ],
        "zhongtai_version": __version__,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "entities": entities,
    }


def _copy_runtime(target: Path) -> None:
    """The edge runtime's modules (zhongtai/edge/*.py), which import only each other, as `zhongtai_edge/`."""
    from zhongtai import edge

    target.mkdir()
    for module in sorted(Path(edge.__file__).parent.glob("*.py")):
        shutil.copyfile(module, target / module.name)
