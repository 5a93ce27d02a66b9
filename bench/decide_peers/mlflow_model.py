"""The MLflow peer of bench/decide.py: save the demo's LightGBM model in MLflow's LightGBM flavour.

Runs in bench/.venv-mlflow (MLflow 3.x), never in the project's environment; `mlflow models serve -m OUT
--env-manager local` then serves it (pyfunc over the flavour). Columns f0..fN are the model's features in
its order; a request is `{"dataframe_split": {"columns": [...], "data": [[...]]}}`.

    python mlflow_model.py MODEL_TXT OUT_DIR
"""

from __future__ import annotations

import sys

import lightgbm
import mlflow.lightgbm


def main() -> None:
    """Load the model text and save it as an MLflow model folder (requirements given, not inferred)."""
    model_txt, out = sys.argv[1], sys.argv[2]
    booster = lightgbm.Booster(model_file=model_txt)
    mlflow.lightgbm.save_model(booster, out, pip_requirements=[f"lightgbm=={lightgbm.__version__}"])
    print(f"saved {out}")


if __name__ == "__main__":
    main()
