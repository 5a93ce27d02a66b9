"""Load a project folder into validated specs; every error names file, line and field."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from zhongtai.errors import ZhongtaiError
from zhongtai.spec.feature_checks import check_feature_specs
from zhongtai.spec.identity import IdentitySpec, output_datasets
from zhongtai.spec.local_paths import matches_no_file, missing_source_path, with_absolute_paths
from zhongtai.spec.models import (
    LOCATION_FOR_SOURCE,
    SCORE_BAND_TASKS,
    CapabilitySpec,
    DatasetSpec,
    EntitySpec,
    FeatureGroupSpec,
    FeatureViewSpec,
    ModelSpec,
    OnDemandViewSpec,
    ProjectFile,
    SourceSpec,
    TagSpec,
    published_dataset,
)
from zhongtai.spec.policy import PolicySpec
from zhongtai.spec.recommend_task import check_recommend_references
from zhongtai.spec.schedule import TARGET_KIND, ScheduleSpec
from zhongtai.spec.secrets import env_references
from zhongtai.spec.yaml_lines import line_of, load_with_lines

KINDS = (
    "sources",
    "datasets",
    "entities",
    "identities",
    "tags",
    "feature_views",
    "on_demand_views",
    "feature_groups",
    "models",
    "capabilities",
    "policies",
    "schedules",  # read by the scheduler from the folder; not registered by apply (docs/scheduler.md)
)


@dataclass(frozen=True)
class Origin:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Project:
    """Everything a project folder declares, keyed by kind and name, with where each object came from."""

    root: Path
    sources: dict[str, SourceSpec] = field(default_factory=dict)
    datasets: dict[str, DatasetSpec] = field(default_factory=dict)
    entities: dict[str, EntitySpec] = field(default_factory=dict)
    identities: dict[str, IdentitySpec] = field(default_factory=dict)
    tags: dict[str, TagSpec] = field(default_factory=dict)
    feature_views: dict[str, FeatureViewSpec] = field(default_factory=dict)
    on_demand_views: dict[str, OnDemandViewSpec] = field(default_factory=dict)
    feature_groups: dict[str, FeatureGroupSpec] = field(default_factory=dict)
    models: dict[str, ModelSpec] = field(default_factory=dict)
    capabilities: dict[str, CapabilitySpec] = field(default_factory=dict)
    policies: dict[str, PolicySpec] = field(default_factory=dict)
    schedules: dict[str, ScheduleSpec] = field(default_factory=dict)
    origins: dict[tuple[str, str], Origin] = field(default_factory=dict)
    lines: dict[str, dict[tuple[str | int, ...], int]] = field(default_factory=dict)
    # Not errors, but worth a look before ingest: a local folder or file a spec names that is not there yet.
    warnings: list[str] = field(default_factory=list)

    def objects(self, kind: str) -> Mapping[str, BaseModel]:
        return getattr(self, kind)


class SpecErrors(ZhongtaiError):
    """All the problems found in a project folder, one line each."""

    def __init__(self, problems: list[str]) -> None:
        count = len(problems)
        summary = f"{count} problem{'s' if count > 1 else ''} in the project:\n" + "\n".join(problems)
        super().__init__("invalid_spec", summary, "fix the lines above; nothing was changed")
        self.problems = problems


def load_project(root: str | Path, environ: Mapping[str, str] | None = None) -> Project:
    """Read every *.yaml / *.yml under `root`, validate it, and check references between objects.

    Raises SpecErrors listing every problem (file:line field: reason). Secrets are checked for presence in
    `environ` (default os.environ) but never resolved into the returned specs.
    """
    root_path = Path(root)
    if not root_path.is_dir():
        raise ZhongtaiError(
            "invalid_argument", f"{root}: not a folder", "give the project folder holding the specs"
        )
    project = Project(root=root_path.resolve())
    problems: list[str] = []
    files = sorted(p for p in root_path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise ZhongtaiError("invalid_argument", f"{root}: no *.yaml spec files found")
    for path in files:
        problems.extend(_load_file(project, path, str(path)))
    if not problems:
        problems.extend(_check_references(project, os.environ if environ is None else environ))
    if problems:
        raise SpecErrors(problems)
    project.warnings = _path_warnings(project)
    return project


def _load_file(project: Project, path: Path, rel: str) -> list[str]:
    try:
        data, lines = load_with_lines(path.read_text(encoding="utf-8"), rel)
    except ZhongtaiError as exc:
        return [exc.message]
    except UnicodeDecodeError:
        return [f"{rel}: not UTF-8 text"]
    if data is None:
        return []
    if not isinstance(data, dict):
        return [f"{rel}:1: expected a mapping with keys {', '.join(KINDS)}"]
    project.lines[rel] = lines
    try:
        parsed = ProjectFile.model_validate(data)
    except ValidationError as exc:
        return [format_error(rel, data, lines, err) for err in exc.errors()]
    problems = []
    for kind in KINDS:
        for index, spec in enumerate(getattr(parsed, kind)):
            name = spec.name
            origin = Origin(rel, lines.get((kind, index), 1))
            if name in project.objects(kind):
                first = project.origins[(kind, name)]
                problems.append(f"{origin} {kind}.{name}: declared twice (first at {first})")
                continue
            if kind == "sources":  # relative paths are relative to this file, not to the folder applied
                spec = with_absolute_paths(spec, path.parent.resolve())
            project.objects(kind)[name] = spec  # type: ignore[index]
            project.origins[(kind, name)] = origin
    return problems


def _path_warnings(project: Project) -> list[str]:
    """Local folders and files the specs name that do not exist (yet), each at its file, line and field."""
    warnings = []
    for name, source in project.sources.items():
        missing = missing_source_path(source)
        if missing is not None:
            origin = project.origins[("sources", name)]
            line = line_of(
                project.lines[origin.file], ("sources", _index_of(project, "sources", name), "url")
            )
            warnings.append(f"{origin.file}:{line} sources.{name}.url: {missing}; ingest fails until it does")
    for name, dataset in project.datasets.items():
        folder = project.sources.get(dataset.source)
        if dataset.path is not None and folder is not None and matches_no_file(folder, dataset.path):
            origin = project.origins[("datasets", name)]
            index = _index_of(project, "datasets", name)
            line = line_of(project.lines[origin.file], ("datasets", index, "path"))
            warnings.append(
                f"{origin.file}:{line} datasets.{name}.path: no file matches '{dataset.path}' in "
                f"{folder.url} yet; ingest fails until one does"
            )
    return warnings


def format_error(rel: str, data: Any, lines: dict, err: Mapping[str, Any]) -> str:
    yaml_path: list[str | int] = []
    shown: list[str] = []
    node = data
    loc = err["loc"]
    for position, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            yaml_path.append(part)
            shown.append(str(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            yaml_path.append(part)
            item = node[part]
            shown.append(str(item["name"]) if isinstance(item, dict) and "name" in item else str(part))
            node = item
        elif isinstance(part, str) and not isinstance(node, dict | list):
            continue
        elif position == len(loc) - 1 and err["type"] in ("missing", "extra_forbidden"):
            shown.append(str(part))
        # else: a union tag pydantic adds to the location; it is not in the YAML
    line = line_of(lines, tuple(yaml_path))
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    elif err["type"] == "missing":
        message = "required key is missing"
    elif message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    elif err["type"] == "string_pattern_mismatch":
        message = "expected a lowercase name: letters, digits and _, starting with a letter"
    location = f"{rel}:{line}" if line else rel
    return f"{location} {'.'.join(shown) or '(top)'}: {message}"


def _check_references(project: Project, environ: Mapping[str, str]) -> list[str]:
    problems = []
    for name, dataset in project.datasets.items():
        origin = project.origins[("datasets", name)]
        lines = project.lines[origin.file]
        index = _index_of(project, "datasets", name)
        source = project.sources.get(dataset.source)
        if source is None:
            line = lines.get(("datasets", index, "source"), origin.line)
            known = ", ".join(sorted(project.sources)) or "none declared"
            problems.append(
                f"{origin.file}:{line} datasets.{name}.source: unknown source '{dataset.source}' (known: {known})"
            )
            continue
        allowed = LOCATION_FOR_SOURCE[source.type]
        if dataset.location_key not in allowed:
            line = lines.get(("datasets", index, dataset.location_key), origin.line)
            problems.append(
                f"{origin.file}:{line} datasets.{name}.{dataset.location_key}: source '{source.name}' is "
                f"{source.type}; give {' or '.join(allowed)}"
            )
        for spec_field in dataset.fields:
            for check in spec_field.checks:
                target = check.references.dataset if check.references else None
                if target is not None and target not in project.datasets:
                    problems.append(
                        f"{origin} datasets.{name}.fields.{spec_field.name}.checks.references: unknown dataset "
                        f"'{target}' (known: {', '.join(sorted(project.datasets))})"
                    )
        if dataset.pagination is not None and source.type != "http":
            problems.append(f"{origin} datasets.{name}.pagination: only http sources paginate")
        if dataset.incremental and dataset.incremental.param and source.type != "http":
            problems.append(
                f"{origin} datasets.{name}.incremental.param: only http sources take a filter param"
            )
    problems.extend(_check_model_references(project))
    problems.extend(_check_policies(project))
    problems.extend(_check_schedules(project))
    for name, source in project.sources.items():
        origin = project.origins[("sources", name)]
        index = _index_of(project, "sources", name)
        lines = project.lines[origin.file]
        for key, value in _strings(source.model_dump(by_alias=True)):
            for var in env_references(value):
                if var not in environ:
                    found = line_of(lines, ("sources", index, *key))
                    dotted = ".".join(str(k) for k in key)
                    problems.append(
                        f"{origin.file}:{found} sources.{name}.{dotted}: environment variable {var} is not set"
                    )
    return problems


def _check_model_references(project: Project) -> list[str]:
    """Feature views name an entity; models name an entity and views of it; capabilities name a model."""
    problems = []

    def unknown(kind: str, name: str, key: str, value: str, known: Mapping[str, Any], what: str) -> None:
        origin = project.origins[(kind, name)]
        line = project.lines[origin.file].get((kind, _index_of(project, kind, name), key), origin.line)
        listed = ", ".join(sorted(known)) or "none declared"
        problems.append(
            f"{origin.file}:{line} {kind}.{name}.{key}: unknown {what} '{value}' (known: {listed})"
        )

    for name, identity in project.identities.items():
        if identity.entity not in project.entities:
            unknown("identities", name, "entity", identity.entity, project.entities, "entity")
        for produced in output_datasets(identity):
            if produced in project.datasets:
                origin = project.origins[("datasets", produced)]
                problems.append(
                    f"{origin} datasets.{produced}: identity '{name}' produces a dataset of this name; "
                    "rename the dataset or the identity"
                )
        for source in identity.sources:
            if source.dataset not in project.datasets:
                unknown("identities", name, "sources", source.dataset, project.datasets, "dataset")
    for name, model in project.models.items():
        for produced in published_dataset(model):
            if produced in project.datasets:
                origin = project.origins[("datasets", produced)]
                problems.append(
                    f"{origin} datasets.{produced}: model '{name}' publishes to a dataset of this name "
                    "(outputs or forecast.outputs); rename one of them"
                )
    for name, tag in project.tags.items():
        if tag.entity not in project.entities:
            unknown("tags", name, "entity", tag.entity, project.entities, "entity")
    for name, view in project.feature_views.items():
        if view.entity not in project.entities:
            unknown("feature_views", name, "entity", view.entity, project.entities, "entity")
    for name, model in project.models.items():
        if model.entity not in project.entities:
            unknown("models", name, "entity", model.entity, project.entities, "entity")

    def report(kind: str, name: str, below: tuple[Any, ...], message: str) -> None:
        origin = project.origins[(kind, name)]
        line = line_of(project.lines[origin.file], (kind, _index_of(project, kind, name), *below))
        dotted = ".".join(_shown_path(project.objects(kind)[name], (kind, name), below))
        problems.append(f"{origin.file}:{line} {dotted}: {message}")

    check_feature_specs(project, report)
    check_recommend_references(project, report)
    for name, capability in project.capabilities.items():
        if capability.model not in project.models:
            unknown("capabilities", name, "model", capability.model, project.models, "model")
        elif (task := project.models[capability.model].task) in SCORE_BAND_TASKS and not capability.decisions:
            origin = project.origins[("capabilities", name)]
            problems.append(
                f"{origin} capabilities.{name}.decisions: model '{capability.model}' is {task}: "
                "give at least one score band (decision and min_score)"
            )
        elif problem := answer_problem(capability, project.models[capability.model].task):
            problems.append(f"{project.origins[('capabilities', name)]} capabilities.{name}.{problem}")
        elif capability.input_dataset is not None:
            entity = project.models[capability.model].entity
            resolved = {
                s.dataset for i in project.identities.values() if i.entity == entity for s in i.sources
            }
            if capability.input_dataset not in resolved:
                origin = project.origins[("capabilities", name)]
                problems.append(
                    f"{origin} capabilities.{name}.input_dataset: no identity of entity '{entity}' resolves "
                    f"dataset '{capability.input_dataset}' (resolved: {', '.join(sorted(resolved)) or 'none'})"
                )
        target = capability.write_back
        if target is not None and getattr(project.sources.get(target.source), "type", None) != "sql":
            sql_sources = {n: s for n, s in project.sources.items() if s.type == "sql"}
            unknown("capabilities", name, "write_back", target.source, sql_sources, "SQL source")
    return problems


def _check_policies(project: Project) -> list[str]:
    """The project's policies together must leave someone able to manage grants: an admin locked out by a
    deny rule could never undo it."""
    from zhongtai.govern.policy import lockout

    denied = lockout(project.policies.values())
    if denied is None:
        return []
    policy, _, rule = denied.rule.partition(".")
    origin = project.origins[("policies", policy)]
    index = _index_of(project, "policies", policy)
    rules = [r.name for r in project.policies[policy].rules]
    line = line_of(project.lines[origin.file], ("policies", index, "rules", rules.index(rule)))
    return [
        f"{origin.file}:{line or origin.line} policies.{policy}.rules.{rule}: denies manage_grants to the "
        "admin role, so no principal could change policies again; narrow its principals or actions"
    ]


def answer_problem(capability: CapabilitySpec, task: str) -> str | None:
    """Score bands answer binary models, value bands regression ones; a multiclass model answers its class."""
    if capability.value_bands and task != "regression":
        return f"value_bands: model '{capability.model}' is {task}: value bands answer regression models"
    if capability.decisions and task in ("multiclass_classification", "regression"):
        instead = "value_bands" if task == "regression" else "the predicted class is the decision"
        return (
            f"decisions: model '{capability.model}' is {task}: score bands answer binary models ({instead})"
        )
    return None


def _shown_path(spec: BaseModel, head: tuple[str, str], below: tuple[Any, ...]) -> list[str]:
    """The dotted path of a field, list items shown by their name (`features.basket_gap.expression`)."""
    shown = list(head)
    node: Any = spec.model_dump(by_alias=True)
    for part in below:
        node = node[part] if isinstance(node, dict | list) else None
        is_named = isinstance(part, int) and isinstance(node, dict) and "name" in node
        shown.append(str(node["name"]) if is_named else str(part))
    return shown


def _check_schedules(project: Project) -> list[str]:
    """A job's target must be declared in the project, as the kind its job type works on."""
    problems = []
    for name, job in project.schedules.items():
        kind = TARGET_KIND[job.job]
        if kind is None or job.target is None or job.target in project.objects(kind):
            continue
        origin = project.origins[("schedules", name)]
        line = (
            line_of(
                project.lines[origin.file], ("schedules", _index_of(project, "schedules", name), "target")
            )
            or origin.line
        )
        known = ", ".join(sorted(project.objects(kind))) or "none declared"
        problems.append(
            f"{origin.file}:{line} schedules.{name}.target: unknown {kind} entry '{job.target}' (known: {known})"
        )
    return problems


def _index_of(project: Project, kind: str, name: str) -> int:
    """Position of the object among its kind in its own file (for line lookups)."""
    origin = project.origins[(kind, name)]
    same_file = [n for n in project.objects(kind) if project.origins[(kind, n)].file == origin.file]
    return same_file.index(name)


def _strings(value: Any, path: tuple = ()) -> list[tuple[tuple, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [item for key, sub in value.items() for item in _strings(sub, (*path, key))]
    if isinstance(value, list):
        return [item for index, sub in enumerate(value) for item in _strings(sub, (*path, index))]
    return []
