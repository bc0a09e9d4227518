#!/usr/bin/env bash
# Create .venv and install mlsafety-gym with its development tools, from nothing.
# torch is installed first and pinned here (TORCH_SPEC) so pip does not pull a multi-GB
# CUDA build on CPU machines; the package itself only declares a range.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
stamp=.venv/.mlsafety-installed
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip "setuptools>=77"
.venv/bin/python -m pip install --quiet --disable-pip-version-check "$TORCH_SPEC"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev,embeddings,ray,docs]"
touch "$stamp"
