#!/usr/bin/env bash
# Create (or bring up to date) the peer environment bench/.venv-feast: Feast 0.67 (file, duckdb
# and redis extras), pinned in bench/feast/requirements.txt. The project's own .venv is never touched.
# Idempotent: a second run with unchanged requirements installs nothing.
#   bash bench/feast/setup.sh            # uses python3 (must be 3.11)
#   PYTHON=/path/to/python3.11 bash bench/feast/setup.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../peer_env.sh" "$here/../.venv-feast" "$here/requirements.txt" feast
