#!/usr/bin/env bash
# Build the documentation site: results pages (when scripts/render_results.py exists), the
# generated env pages and pictures, then `mkdocs build --strict` into site/.
#   bash scripts/docs.sh          build
#   bash scripts/docs.sh serve    build the pages, then serve on http://127.0.0.1:8000
#   bash scripts/docs.sh --no-pictures   pages only (fast; what CI runs)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export NO_MKDOCS_2_WARNING=1  # Material's end-of-life banner
mode=build
args=()
for a in "$@"; do
  case "$a" in
    serve) mode=serve ;;
    *) args+=("$a") ;;
  esac
done
if [ -f scripts/render_results.py ]; then
  "$PY" scripts/render_results.py
fi
"$PY" scripts/build_docs.py "${args[@]+"${args[@]}"}"
if [ "$mode" = serve ]; then
  exec "$PY" -m mkdocs serve
fi
"$PY" -m mkdocs build --strict
