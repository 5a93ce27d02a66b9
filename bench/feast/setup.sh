#!/usr/bin/env bash
# Create (or bring up to date) the peer environment bench/.venv-feast: Feast 0.67 (file, duckdb
# and redis extras), pinned in bench/feast/requirements.txt. The project's own .venv is never touched.
# Idempotent: a second run with unchanged requirements installs nothing.
#   bash bench/feast/setup.sh            # uses python3 (must be 3.11)
#   PYTHON=/path/to/python3.11 bash bench/feast/setup.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$(cd "$here/.." && pwd)/.venv-feast"
requirements="$here/requirements.txt"
python="${PYTHON:-python3}"

"$python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=...)")'

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
    # Keep the whole environment out of git without touching the project's .gitignore.
    printf '*\n' > "$venv/.gitignore"
    "$venv/bin/python" -m pip install --quiet --upgrade pip==26.3
fi

stamp="$venv/.requirements.sha256"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
    "$venv/bin/python" -m pip install --quiet --requirement "$requirements"
    "$venv/bin/python" -m pip check
    printf '%s\n' "$wanted" > "$stamp"
fi

echo "feast environment: $venv"
echo "python: $venv/bin/python"
