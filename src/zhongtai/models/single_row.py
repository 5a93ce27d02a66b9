"""One row at a time through LightGBM's single-row C API: the decide hot path's predictor.

`Booster.predict` builds a new predictor per call: it formats and parses a parameter string, and for
contributions LightGBM walks every tree to recompute its depth before it starts. For one row that set-up
costs more than the prediction (a 52-tree churn model: ~160 µs a plain predict, ~680 µs with contributions,
against ~35 µs and ~400 µs through this module on the same loaded machine). LightGBM's "fast" single-row API
(`LGBM_BoosterPredictForMatSingleRowFastInit`) does the set-up once and keeps it in a handle.

A handle holds its own output buffer, so it must not be used by two threads at once: each thread gets its own
(the event loop, the shadow scorer, a batch thread). `SingleRow` wraps a `LightGBMBinary` or
`LightGBMRegression` predictor and answers exactly what it answers (the tests compare them); several rows at
once, and every other predictor, go to the wrapped predictor as before.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import numpy as np

from zhongtai.models.predictor import LightGBMBinary, LightGBMRegression, Predictor

_PREDICT_NORMAL = 0  # C_API_PREDICT_NORMAL: probabilities (binary) or values (regression)
_PREDICT_CONTRIB = 3  # C_API_PREDICT_CONTRIB: per-feature contributions, then the expected value
_FLOAT64 = 1  # C_API_DTYPE_FLOAT64
_ROW_MAJOR = 1


class _Handle:
    """One FastConfig handle of a booster for one prediction type, with its output buffer."""

    def __init__(self, booster: Any, kind: int, features: int) -> None:
        from lightgbm.basic import _LIB, _c_str, _safe_call

        self._lib, self._check = _LIB, _safe_call
        self._handle = ctypes.c_void_p()
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle,
                ctypes.c_int(kind),
                ctypes.c_int(0),  # start iteration
                # The iterations Booster.predict uses by default: the best one when known, else all (-1).
                ctypes.c_int(booster.best_iteration if booster.best_iteration > 0 else -1),
                ctypes.c_int(_FLOAT64),
                ctypes.c_int32(features),
                _c_str("num_threads=1"),
                ctypes.byref(self._handle),
            )
        )
        self._out = np.empty(features + 1 if kind == _PREDICT_CONTRIB else 1, dtype=np.float64)
        self._out_ptr = self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        self._length = ctypes.c_int64(0)

    def __call__(self, row: np.ndarray) -> np.ndarray:
        """The prediction of one row (a C-contiguous float64 vector); a new array each call."""
        self._check(
            self._lib.LGBM_BoosterPredictForMatSingleRowFast(
                self._handle, row.ctypes.data_as(ctypes.c_void_p), ctypes.byref(self._length), self._out_ptr
            )
        )
        return self._out[: self._length.value].copy()

    def __del__(self) -> None:
        if self._handle:
            self._lib.LGBM_FastConfigFree(self._handle)


class SingleRow:
    """A LightGBM binary or regression predictor whose one-row calls take the fast single-row path."""

    def __init__(self, model: LightGBMBinary | LightGBMRegression) -> None:
        self._model = model
        self.task = model.task
        self.features = model.features
        self._local = threading.local()

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """As the wrapped predictor's `predict`."""
        if len(rows) != 1:
            return self._model.predict(rows)
        return self._handles().predict(self._row(rows))

    def explain(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """As the wrapped predictor's `explain`: contributions, and the score they add up to."""
        if len(rows) != 1:
            return self._model.explain(rows)
        contributions = self._handles().contrib(self._row(rows)).reshape(1, -1)
        total = contributions.sum(axis=1)
        scores = 1.0 / (1.0 + np.exp(-total)) if self.task == "binary" else total
        return np.asarray(scores, dtype=np.float64), contributions

    def _handles(self) -> _Handles:
        handles: _Handles | None = getattr(self._local, "handles", None)
        if handles is None:
            handles = _Handles(self._model.booster, len(self.features))
            self._local.handles = handles
        return handles

    @staticmethod
    def _row(rows: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(rows[0], dtype=np.float64)


class _Handles:
    """One thread's handles of a booster: a plain predict and one with contributions."""

    def __init__(self, booster: Any, features: int) -> None:
        self.predict = _Handle(booster, _PREDICT_NORMAL, features)
        self.contrib = _Handle(booster, _PREDICT_CONTRIB, features)


def single_row(model: Predictor) -> Predictor:
    """`model` with the fast one-row path when it is a LightGBM binary or regression booster; else itself."""
    if isinstance(model, LightGBMBinary | LightGBMRegression):
        return SingleRow(model)
    return model
