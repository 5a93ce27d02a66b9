#!/usr/bin/env bash
# Create (or bring up to date) the environment of one peer of bench/drift.py: bench/drift_peers/.venv-evidently
# (Evidently 0.7) or bench/drift_peers/.venv-nannyml (NannyML 0.13), pinned in bench/drift_peers/<peer>.txt.
# The project's own .venv is never touched. Idempotent: a second run with unchanged requirements installs nothing.
#   bash bench/drift_peers/setup.sh evidently|nannyml
#   PYTHON=/path/to/python3.11 bash bench/drift_peers/setup.sh nannyml
set -euo pipefail

peer="${1:?give the peer: evidently or nannyml}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../peer_env.sh" "$here/.venv-$peer" "$here/$peer.txt" "$peer"
