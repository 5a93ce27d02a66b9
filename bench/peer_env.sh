#!/usr/bin/env bash
# Create (or bring up to date) one peer's virtual environment for a bench: VENV with the pinned REQUIREMENTS.
# Every bench's setup.sh calls this; the project's own .venv is never touched.
# Idempotent: a second run with unchanged requirements installs nothing.
#   bash bench/peer_env.sh VENV REQUIREMENTS LABEL      (PYTHON=/path/to/python3.11 to choose the interpreter)
set -euo pipefail

venv="${1:?give the folder of the environment}"
requirements="${2:?give the requirements file}"
label="${3:-peer}"
[ -f "$requirements" ] || { echo "no requirements for $label ($requirements)" >&2; exit 2; }
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

echo "$label environment: $venv"
echo "python: $venv/bin/python"
