#!/usr/bin/env bash
# The main job: set up from nothing, list the environments, roll out a random, a scripted
# exploit and a scripted safe policy on every proxy-gaming env and the moral and immoral
# walkthroughs of every text scenario, then run the example safety suites.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/mlsafety demo "$@"
echo
.venv/bin/mlsafety check examples/suites/safety_*.toml --output runs/safety-reports
