#!/usr/bin/env bash
# The main job: set up from nothing, list the environments and roll out a random, a
# scripted exploit and a scripted safe policy on every proxy-gaming env.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/mlsafety demo "$@"
