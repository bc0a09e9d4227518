#!/usr/bin/env bash
# Prove training runs on CUDA where there is one (under five minutes on a GPU machine).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
timeout 290 "$PY" benchmarks/gpu_smoke.py "$@"
