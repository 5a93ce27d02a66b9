#!/usr/bin/env bash
# Create (or bring up to date) the environment of one peer of bench/drift.py: bench/drift_peers/.venv-evidently
# (Evidently 0.7) or bench/drift_peers/.venv-nannyml (NannyML 0.13), pinned in bench/drift_peers/<peer>.txt.
# The project's own .venv is never touched. Idempotent: a second run with unchanged requirements installs nothing.
#   bash bench/drift_peers/setup.sh evidently|nannyml
#   PYTHON=/path/to/python3.11 bash bench/drift_peers/setup.sh nannyml
set -euo pipefail

peer="${1:?give the peer: evidently or nannyml}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
requirements="$here/$peer.txt"
[ -f "$requirements" ] || { echo "no requirements for peer '$peer' ($requirements)" >&2; exit 2; }
venv="$here/.venv-$peer"
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

echo "$peer environment: $venv"
echo "python: $venv/bin/python"
