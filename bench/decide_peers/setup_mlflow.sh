#!/usr/bin/env bash
# The mlflow peer environment of bench/decide.py (bench/prerequisites.py runs one script per environment).
exec bash "$(dirname "${BASH_SOURCE[0]}")/setup.sh" mlflow
