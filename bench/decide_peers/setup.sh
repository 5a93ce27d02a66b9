#!/usr/bin/env bash
# Create (or bring up to date) the environment of one peer of bench/decide.py: bench/.venv-mlflow (MLflow 3.x)
# or bench/.venv-bentoml (BentoML 1.4), each with the same LightGBM as the project, pinned in
# bench/decide_peers/<peer>.txt. The project's own .venv is never touched.
# Idempotent: a second run with unchanged requirements installs nothing.
#   bash bench/decide_peers/setup.sh mlflow|bentoml
#   PYTHON=/path/to/python3.11 bash bench/decide_peers/setup.sh mlflow
set -euo pipefail

peer="${1:?give the peer: mlflow or bentoml}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../peer_env.sh" "$here/../.venv-$peer" "$here/$peer.txt" "$peer"
