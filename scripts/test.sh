#!/usr/bin/env bash
# Set up from nothing and run the test suite (slow tests excluded unless -m slow is given).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pytest -n 2 -m "not slow" "$@"
