"""What a label may be, by task: 0/1 for a binary model, string or integer classes for a multiclass one,
finite numbers for a regression; and what each side of the time split must hold.

Every refusal names the spec field at fault (`label.label`) and counts rows; none quotes a label value, except
a binary label's 0 or 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from zhongtai.errors import ZhongtaiError

if TYPE_CHECKING:
    import pyarrow as pa

    from zhongtai.models.predictor import ClassLabel


def binary_labels(column: pa.ChunkedArray, name: str) -> np.ndarray:
    """A binary label as 0/1 integers; NULL or any other value is refused."""
    import pyarrow as pa

    if column.null_count:
        raise ZhongtaiError("invalid_argument", f"label '{name}' is NULL in {column.null_count} rows")
    values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    if not np.isin(values, (0.0, 1.0)).all():
        raise ZhongtaiError("invalid_argument", f"label '{name}' must be 0 or 1 for binary classification")
    return values.astype(np.int64)


def class_indexes(
    column: pa.ChunkedArray, name: str, first: int
) -> tuple[np.ndarray, tuple[ClassLabel, ...], dict[str, int]]:
    """Class indexes of a multiclass label (-1 for a class the first `first` rows, the training side,
    never hold), the class labels in sorted order, and the rows of each validation-only class."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if not (pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise ZhongtaiError(
            "invalid_argument",
            f"label.label: '{name}' is {kind}; a multiclass_classification model takes string or integer "
            "classes",
            "cast the label to text or an integer in the label SQL (a 0/1 label is binary_classification)",
        )
    if column.null_count:
        raise ZhongtaiError("invalid_argument", f"label.label: '{name}' is NULL in {column.null_count} rows")
    values = column.to_pylist()
    classes = tuple(sorted(set(values[:first])))
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index.get(v, -1) for v in values], dtype=np.int64)
    unseen: dict[str, int] = {}
    for value in values[first:]:
        if value not in index:
            unseen[str(value)] = unseen.get(str(value), 0) + 1
    return y, classes, unseen


def regression_targets(column: pa.ChunkedArray, name: str) -> np.ndarray:
    """A regression target as float64: numbers only, none NULL, NaN or infinite."""
    import pyarrow as pa

    kind = column.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)):
        raise ZhongtaiError(
            "invalid_argument",
            f"label.label: '{name}' is {kind}; a regression model takes numbers",
            "cast the label to a number in the label SQL",
        )
    if column.null_count:
        raise ZhongtaiError("invalid_argument", f"label.label: '{name}' is NULL in {column.null_count} rows")
    values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    bad = int((~np.isfinite(values)).sum())
    if bad:
        raise ZhongtaiError(
            "invalid_argument",
            f"label.label: '{name}' is NaN or infinite in {bad} rows",
            "filter those rows out in the label SQL",
        )
    return np.asarray(values, dtype=np.float64)


def check_side(side: str, labels: np.ndarray, minimum: int, name: str, task: str) -> None:
    """One side of the time split has enough rows and, for a classifier, at least two classes."""
    if labels.size < minimum:
        raise too_few(f"the {side} side of the time split has {labels.size} rows (needs {minimum})")
    if task == "regression":
        return
    classes = np.unique(labels)
    if classes.size >= 2:
        return
    if task == "multiclass_classification":
        raise ZhongtaiError(
            "invalid_argument",
            f"the {side} side of the time split has a single class of label.label '{name}'",
            "a multiclass model needs at least two classes on both sides; check the label SQL",
        )
    raise ZhongtaiError(
        "invalid_argument",
        f"the {side} side of the time split has a single class ({name} is always {classes[0]})",
        "a binary model needs positive and negative labels on both sides; check the label SQL",
    )


def too_few(what: str) -> ZhongtaiError:
    """The error of a training set too small to split and judge."""
    return ZhongtaiError(
        "invalid_argument", f"too few rows to train: {what}", "widen the label window or add label rows"
    )
