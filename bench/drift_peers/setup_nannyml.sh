#!/usr/bin/env bash
# The nannyml peer environment of bench/drift.py (bench/prerequisites.py runs one script per environment).
exec bash "$(dirname "${BASH_SOURCE[0]}")/setup.sh" nannyml
