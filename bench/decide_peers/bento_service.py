"""The BentoML peer of bench/decide.py: the demo's LightGBM model, bare, behind `bentoml serve`.

Runs in bench/.venv-bentoml (BentoML 1.4), never in the project's environment. The model text is the one
the demo trained, exported from the lake by the bench to the path in ZT_BENCH_MODEL. A request carries the
feature vector itself (`{"rows": [[f0, f1, ...]]}`, null for a missing value) and is answered with the
positive class's probability per row: the model alone, with no feature read, explanation, rule or log.

    ZT_BENCH_MODEL=model.txt bentoml serve bento_service:ChurnModel --port 3000
"""

from __future__ import annotations

import os

import bentoml
import lightgbm
import numpy as np


@bentoml.service(workers=1, traffic={"timeout": 10})
class ChurnModel:
    """One process, one LightGBM booster, predicting with one thread as Zhongtai's runtime does."""

    def __init__(self) -> None:
        self.booster = lightgbm.Booster(model_file=os.environ["ZT_BENCH_MODEL"])

    @bentoml.api
    def predict(self, rows: list[list[float | None]]) -> list[float]:
        """Probability of the positive class for each row of features (None is missing)."""
        matrix = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=np.float64)
        return [float(p) for p in self.booster.predict(matrix, num_threads=1)]
