"""Text classification (intent): the trainer behind TRAINERS["text_classification"] and the loaded model.

Training reads the label rows with their text (`text.column`) and the person's features valid at each row's
moment (the feature store's point-in-time join), splits them by label time (the newest `validation.fraction`
judge), and encodes every text once with the shipped sentence encoder. Heads are compared on the newest part
of the training rows — the sentence vector alone, with character n-grams, with the person's features — and
the winner is refitted on all training rows and judged on the held-out rows against two baselines: the
majority class and a TF-IDF + logistic model on the same n-grams.

`other` (out of scope) is calibrated, not guessed: in each round some classes are held out of training and
their held-out texts play the requests the model was never taught; the threshold is the highest confidence
that keeps in-scope accuracy within `text.other.max_accuracy_loss` of what it is without one, and the share
of held-out-class texts it catches is recorded as the out-of-scope recall.

Bad input is refused before anything is fitted, naming the spec field: an empty text column, a single class,
texts in a language the spec does not list.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai.errors import ZhongtaiError
from zhongtai.models import text_encoder
from zhongtai.models.artifacts import read_artifact, sibling
from zhongtai.models.tasks import Progress, Trained, TrainJob
from zhongtai.models.text_head import (
    MAIN_FILE,
    VOCABULARY_FILE,
    WEIGHTS_FILE,
    HeadInputs,
    TextHead,
    fit_head,
    load_head,
)
from zhongtai.models.text_metrics import classification_metrics, majority_metrics, ngram_baseline

if TYPE_CHECKING:
    import pyarrow as pa

    from zhongtai.lake.storage import LakeStorage
    from zhongtai.spec.models import ModelSpec
    from zhongtai.spec.text_task import OutOfScopeSpec, TextSpec

ARTIFACT_FORMAT = "text-head"
MIN_TRAINING_ROWS = 30
MIN_VALIDATION_ROWS = 10
# A language the spec does not list may appear in a few texts (a pasted English order note in a Chinese
# ticket); above this share the spec is wrong about its data.
FOREIGN_SHARE = 0.05


@dataclass(frozen=True)
class TextRows:
    """The usable label rows, oldest first: texts (normalised), classes, languages, profile matrix."""

    texts: list[str]
    labels: np.ndarray
    languages: np.ndarray
    profile: np.ndarray
    profile_names: list[str]
    times: list[Any]
    skipped: dict[str, int]


def train_text_classification(job: TrainJob) -> Trained:
    """Fit a text model on the spec's label rows; see the module's docstring for the steps."""
    from zhongtai.features.training import build_training_set

    spec = job.spec
    settings = _settings(spec)
    job.report("training set", f"label rows with their {settings.column!r} text, and the person's features")
    training_set, table = build_training_set(
        job.store, job.storage, spec.name, engine=job.engine, keep=(settings.column,)
    )
    rows = text_rows(table, spec, training_set.lineage.get("features", []))
    job.report(
        "split", f"time split of {len(rows.texts)} texts, newest {spec.validation.fraction:.0%} held out"
    )
    train, valid, split_time = time_split(rows, spec.validation.fraction)
    job.report("train", f"encoding {len(rows.texts)} texts with {text_encoder.ENCODER_NAME}")
    inputs = HeadInputs(
        text_encoder.embed(rows.texts), rows.texts, rows.profile, language_weights(rows.languages)
    )
    fitted = fit_text_model(inputs, rows.labels, train, valid, settings, rows.profile_names, job.report)
    metrics = {
        **fitted.metrics,
        "validation": {
            **fitted.metrics["validation"],
            **language_accuracy(fitted.valid_predictions, rows.labels[valid], rows.languages[valid]),
        },
        "train_rows": int(train.size),
        "validation_rows": int(valid.size),
        "split_timestamp": _iso(split_time),
        "skipped_rows": rows.skipped,
        "languages": {lang: int((rows.languages == lang).sum()) for lang in settings.languages},
    }
    files = fitted.head.files(_artifact_settings(settings, fitted.threshold))
    return Trained(
        artifact_format=ARTIFACT_FORMAT,
        files=files,
        main=MAIN_FILE,
        features=list(fitted.head.profile),
        params={
            "encoder": text_encoder.ENCODER_NAME,
            "encoder_version": text_encoder.encoder_version(),
            "head": fitted.variant,
            "threshold": fitted.threshold,
            "classes": len(fitted.head.classes),
        },
        metrics=metrics,
        training_set=training_set,
        datasets={k: int(v) for k, v in training_set.lineage.get("datasets", {}).items()},
    )


def _settings(spec: ModelSpec) -> TextSpec:
    if spec.text is None:  # the spec validator requires it; kept for the type checker
        raise ZhongtaiError("invalid_spec", f"model '{spec.name}' text: a text model needs a text block")
    return spec.text


def _artifact_settings(settings: TextSpec, threshold: float) -> dict[str, Any]:
    return {
        "encoder": {
            "name": text_encoder.ENCODER_NAME,
            "package": text_encoder.ENCODER_PACKAGE,
            "version": text_encoder.encoder_version(),
        },
        "languages": list(settings.languages),
        "other": settings.other.label,
        "threshold": threshold,
    }


def text_rows(table: pa.Table, spec: ModelSpec, features: Sequence[str] = ()) -> TextRows:
    """The training set's usable rows, checked: texts present and in the spec's languages, two classes."""
    settings = _settings(spec)
    column, label = settings.column, spec.label.label
    where = f"model '{spec.name}'"
    raw_texts = table[column].to_pylist()
    raw_labels = table[label].to_pylist()
    if not raw_texts:
        raise ZhongtaiError(
            "invalid_argument",
            f"{where} label.sql: no label rows",
            "the label SQL must return rows with a text and a class",
        )
    texts = [text_encoder.normalize(t) if isinstance(t, str) else "" for t in raw_texts]
    present = np.array([bool(t) for t in texts])
    if not present.any():
        raise ZhongtaiError(
            "invalid_argument",
            f"{where} text.column: every value of column '{column}' is empty or NULL ({len(texts)} rows)",
            "point text.column at the column holding the text to classify",
        )
    labelled = np.array([value is not None and str(value).strip() != "" for value in raw_labels])
    keep = present & labelled
    classes = np.array([str(v).strip() if v is not None else "" for v in raw_labels], dtype=object)
    kept_classes = sorted(set(classes[keep].tolist()))
    if len(kept_classes) < 2:
        raise ZhongtaiError(
            "invalid_argument",
            f"{where} label.label: column '{label}' holds {len(kept_classes)} class(es) in rows with a text; "
            "a classifier needs at least two",
            "check the label SQL's label column",
        )
    languages = np.array([text_encoder.language(t) for t in texts], dtype=object)
    _check_languages(languages[keep], settings, where)
    profile_names = _profile_columns(table, features)
    profile = _profile_matrix(table, profile_names)
    positions = np.flatnonzero(keep)
    times = table[spec.label.timestamp].to_pylist()
    return TextRows(
        texts=[texts[i] for i in positions],
        labels=classes[positions],
        languages=languages[positions],
        profile=profile[positions],
        profile_names=profile_names,
        times=[times[i] for i in positions],
        skipped={"empty_text": int((~present).sum()), "no_label": int((present & ~labelled).sum())},
    )


def _check_languages(languages: np.ndarray, settings: TextSpec, where: str) -> None:
    for found in sorted(set(languages.tolist())):
        if found in settings.languages:
            continue
        share = float((languages == found).mean())
        if share > FOREIGN_SHARE:
            what = "in no language the encoder knows" if found == "unknown" else f"in {found}"
            raise ZhongtaiError(
                "invalid_argument",
                f"{where} text.languages: {share:.0%} of the texts are {what}, and the spec lists "
                f"{', '.join(settings.languages)}",
                "text classification reads zh and en; list the languages of the texts",
            )


def _profile_columns(table: pa.Table, features: Sequence[str]) -> list[str]:
    """The training set's numeric feature columns: the person's profile a head may read."""
    import pyarrow as pa

    numeric = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean, pa.types.is_decimal)
    names = table.column_names
    return [
        name
        for name in features
        if name in names and any(check(table.schema.field(name).type) for check in numeric)
    ]


def _profile_matrix(table: pa.Table, names: Sequence[str]) -> np.ndarray:
    import pyarrow as pa

    if not names:
        return np.zeros((table.num_rows, 0))
    columns = [table[n].cast(pa.float64()).to_numpy(zero_copy_only=False) for n in names]
    return np.column_stack(columns).astype(np.float64)


def time_split(rows: TextRows, fraction: float) -> tuple[np.ndarray, np.ndarray, Any]:
    """Row positions of training (older) and validation (the newest `fraction`); rows sharing a moment stay
    on one side. Rows come sorted by time from the training set."""
    total = len(rows.texts)
    if total < MIN_TRAINING_ROWS + MIN_VALIDATION_ROWS:
        raise ZhongtaiError(
            "invalid_argument",
            f"too few rows to train: {total} labelled texts (needs {MIN_TRAINING_ROWS + MIN_VALIDATION_ROWS})",
            "widen the label window or add label rows",
        )
    times = rows.times
    cut = min(int(total * (1 - fraction)), total - 1)
    first = cut
    while first > 0 and times[first - 1] == times[cut]:
        first -= 1
    if first == 0:
        raise ZhongtaiError(
            "invalid_argument",
            "label.timestamp: every label row has the same moment; a time split needs at least two",
        )
    train, valid = np.arange(first), np.arange(first, total)
    if train.size < MIN_TRAINING_ROWS or valid.size < MIN_VALIDATION_ROWS:
        raise ZhongtaiError(
            "invalid_argument",
            f"too few rows to train: {train.size} training and {valid.size} validation rows",
            "widen the label window or add label rows",
        )
    if len(set(rows.labels[train].tolist())) < 2:
        raise ZhongtaiError(
            "invalid_argument",
            "label.label: the training side of the time split holds a single class",
            "a classifier needs at least two classes among the older rows; check the label SQL",
        )
    return train, valid, times[first]


@dataclass
class FittedText:
    """The chosen head, its calibrated threshold and the figures that chose and judged it."""

    head: TextHead
    variant: str
    threshold: float
    metrics: dict[str, Any]
    valid_predictions: np.ndarray


def fit_text_model(
    inputs: HeadInputs,
    labels: np.ndarray,
    train: np.ndarray,
    valid: np.ndarray,
    settings: TextSpec,
    profile_names: Sequence[str],
    report: Progress | None = None,
) -> FittedText:
    """Choose the head on the newest part of the training rows, refit it on all of them, calibrate `other`
    and judge the head and the baselines on the validation rows."""
    say: Progress = report or (lambda stage, detail: None)
    train = _frequent_classes(labels, train, settings.min_class_rows)
    variants = _variants(settings, profile_names)
    chosen, tried = _choose(inputs, labels, train, variants)
    say("train", f"head: {chosen} (tried {', '.join(f'{k} {v:.3f}' for k, v in tried.items())})")
    ngrams, profile = variants[chosen]
    head = fit_head(inputs.take(train), labels[train], ngrams=ngrams, profile=profile)
    say("evaluate", f"{valid.size} held-out texts against the majority class and TF-IDF + logistic")
    proba = head.proba(_columns(inputs.take(valid), profile_names, profile))
    predicted = np.array(head.classes, dtype=object)[proba.argmax(axis=1)]
    say(
        "evaluate", f"calibrating '{settings.other.label}' over {settings.other.rounds} held-out-class rounds"
    )
    calibration = calibrate_other(
        inputs, labels, train, valid, settings.other, (ngrams, profile), profile_names
    )
    truth = labels[valid]
    validation = classification_metrics(truth, predicted, proba, head.classes)
    validation.update(calibration)
    metrics = {
        "validation": validation,
        "baseline": ngram_baseline(list(inputs.texts), labels, train, valid),
        "majority_baseline": majority_metrics(labels[train], truth),
        "head_candidates": tried,
        "classes": head.classes,
    }
    return FittedText(head, chosen, float(calibration["threshold"]), metrics, predicted)


def _frequent_classes(labels: np.ndarray, train: np.ndarray, minimum: int) -> np.ndarray:
    values, counts = np.unique(labels[train].astype(str), return_counts=True)
    frequent = set(values[counts >= minimum].tolist())
    if len(frequent) < 2:
        raise ZhongtaiError(
            "invalid_argument",
            f"text.min_class_rows: fewer than two classes have {minimum} training rows",
            "add label rows or lower text.min_class_rows",
        )
    return train[np.isin(labels[train].astype(str), sorted(frequent))]


def _variants(settings: TextSpec, profile_names: Sequence[str]) -> dict[str, tuple[bool, tuple[str, ...]]]:
    text_only: dict[str, tuple[bool, tuple[str, ...]]] = {"embedding": (False, ())}
    if settings.char_ngrams:
        text_only = {"embedding+ngrams": (True, ())}
        if settings.profile == "never" or not profile_names:
            text_only["embedding"] = (False, ())
    if settings.profile == "never" or not profile_names:
        return text_only
    with_profile = {
        f"{name}+profile": (ngrams, tuple(profile_names)) for name, (ngrams, _) in text_only.items()
    }
    return with_profile if settings.profile == "always" else {**text_only, **with_profile}


def _choose(
    inputs: HeadInputs,
    labels: np.ndarray,
    train: np.ndarray,
    variants: dict[str, tuple[bool, tuple[str, ...]]],
) -> tuple[str, dict[str, float]]:
    """The variant with the best accuracy on the newest fifth of the training rows, fitted on the rest."""
    if len(variants) == 1:
        return next(iter(variants)), {}
    cut = int(train.size * 0.8)
    fit_rows, check_rows = train[:cut], train[cut:]
    if len(set(labels[fit_rows].tolist())) < 2 or check_rows.size == 0:
        return next(iter(variants)), {}
    tried = {}
    for name, (ngrams, profile) in variants.items():
        head = fit_head(inputs.take(fit_rows), labels[fit_rows], ngrams=ngrams, profile=profile)
        proba = head.proba(_columns(inputs.take(check_rows), list(profile), profile))
        predicted = np.array(head.classes, dtype=object)[proba.argmax(axis=1)]
        tried[name] = round(float((predicted == labels[check_rows]).mean()), 4)
    # Ties go to the simpler variant (listed first).
    return max(tried, key=lambda name: tried[name]), tried


def _columns(inputs: HeadInputs, names: Sequence[str], wanted: Sequence[str]) -> HeadInputs:
    """The inputs with the profile narrowed to the `wanted` columns."""
    positions = [list(names).index(n) for n in wanted]
    return HeadInputs(inputs.embeddings, inputs.texts, inputs.profile[:, positions])


def calibrate_other(
    inputs: HeadInputs,
    labels: np.ndarray,
    train: np.ndarray,
    valid: np.ndarray,
    other: OutOfScopeSpec,
    variant: tuple[bool, tuple[str, ...]],
    profile_names: Sequence[str],
) -> dict[str, Any]:
    """The `other` threshold (see the module docstring) with the out-of-scope recall and the in-scope accuracy
    it leaves, over `other.rounds` rounds of held-out classes."""
    ngrams, profile = variant
    classes = sorted(set(labels[train].tolist()) - {other.label})
    held = min(other.held_out_classes, len(classes) - 2)
    if held < 1:
        return {"threshold": 0.0, "oos_recall": None, "in_scope_accuracy": None, "calibration_rounds": 0}
    rng = np.random.default_rng(0)
    in_conf, in_correct, out_conf = [], [], []
    for _ in range(other.rounds):
        out = set(rng.choice(classes, size=held, replace=False).tolist())
        fit_rows = train[~np.isin(labels[train], sorted(out))]
        head = fit_head(inputs.take(fit_rows), labels[fit_rows], ngrams=ngrams, profile=profile)
        proba = head.proba(_columns(inputs.take(valid), profile_names, profile))
        confidence = proba.max(axis=1)
        predicted = np.array(head.classes, dtype=object)[proba.argmax(axis=1)]
        outside = np.isin(labels[valid], sorted(out))
        in_conf.append(confidence[~outside])
        in_correct.append(predicted[~outside] == labels[valid][~outside])
        out_conf.append(confidence[outside])
    return choose_threshold(
        np.concatenate(in_conf),
        np.concatenate(in_correct),
        np.concatenate(out_conf),
        other,
        rounds=other.rounds,
    )


def choose_threshold(
    in_conf: np.ndarray, in_correct: np.ndarray, out_conf: np.ndarray, other: OutOfScopeSpec, rounds: int
) -> dict[str, Any]:
    """The highest threshold whose in-scope accuracy (answers under it count as wrong) stays within
    `max_accuracy_loss` of the accuracy without a threshold."""
    full = float(in_correct.mean()) if in_correct.size else 0.0
    best = 0.0
    for threshold in np.unique(np.concatenate([in_conf, out_conf])):
        kept = float((in_correct & (in_conf >= threshold)).mean()) if in_correct.size else 0.0
        if kept >= full - other.max_accuracy_loss - 1e-9:  # a loss of exactly the target is allowed
            best = float(threshold)
    kept = float((in_correct & (in_conf >= best)).mean()) if in_correct.size else 0.0
    recall = float((out_conf < best).mean()) if out_conf.size else None
    return {
        "threshold": round(best, 6),
        "oos_recall": None if recall is None else round(recall, 4),
        "in_scope_accuracy": round(kept, 4),
        "in_scope_accuracy_without_threshold": round(full, 4),
        "calibration_rounds": rounds,
    }


def language_weights(languages: np.ndarray) -> np.ndarray:
    """Row weights under which every language weighs the same in training: a minority language (English
    tickets at a Chinese retailer) is not drowned by the majority's words. Mean weight 1."""
    values, counts = np.unique(languages.astype(str), return_counts=True)
    per_language = dict(zip(values.tolist(), (languages.size / (values.size * counts)).tolist(), strict=True))
    return np.array([per_language[str(lang)] for lang in languages], dtype=np.float64)


def language_accuracy(predicted: np.ndarray, truth: np.ndarray, languages: np.ndarray) -> dict[str, float]:
    """Accuracy per language present among the held-out rows (`accuracy_zh`, `accuracy_en`)."""
    out = {}
    for lang in sorted(set(languages.tolist()) - {"unknown"}):
        rows = languages == lang
        out[f"accuracy_{lang}"] = round(float((predicted[rows] == truth[rows]).mean()), 4)
    return out


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


class TextModel:
    """A loaded text model: the shared encoder and a head; `classify` answers a batch of texts."""

    def __init__(self, head: TextHead, body: dict[str, Any]) -> None:
        self.head = head
        self.threshold = float(body["threshold"])
        self.other = str(body["other"])
        self.languages = tuple(body["languages"])
        self.profile = tuple(head.profile)

    def classify(self, texts: Sequence[str], profile: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities of raw texts (normalised here), one row per text; `profile` rows follow
        `self.profile` (NaN: missing)."""
        normalised = [text_encoder.normalize(t) for t in texts]
        rows = np.full((len(texts), len(self.profile)), np.nan) if profile is None else profile
        return self.head.proba(HeadInputs(text_encoder.embed(normalised), normalised, rows))


def load_text_model(storage: LakeStorage, path: str) -> TextModel:
    """Load a text model's artifact, refusing one trained on another encoder than the installed one."""
    body = json.loads(read_artifact(storage, path).decode("utf-8"))
    where = f"text model {path}"
    text_encoder.check_encoder(body.get("encoder") or {}, where)
    vocabulary = (
        read_artifact(storage, sibling(path, VOCABULARY_FILE)) if body.get("ngrams") is not None else None
    )
    head = load_head(body, read_artifact(storage, sibling(path, WEIGHTS_FILE)), vocabulary, where)
    return TextModel(head, body)
