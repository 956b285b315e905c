#!/usr/bin/env bash
# One entry point for a fresh machine:
#   bash run.sh main   -> set up, run the real-encoder preset (e5-small: its main conditions, 5 seeds for the primary pairs and 3 elsewhere), build the book
#   bash run.sh test   -> set up, run the test suite
#   bash run.sh smoke  -> set up, run the from-scratch smoke preset (a pipeline check, not science)
# Setting up is idempotent: a second call reuses .venv and skips installs.
set -euo pipefail
cd "$(dirname "$0")"
VENV=${XIT_VENV:-.venv}
MAIN_CONDITIONS=no-intermediate,en-qa,ml-qa,en-deprel,ml-deprel,ml-mlm,en-multitask
PY="$VENV/bin/python"

setup() {
  if [ ! -x "$PY" ]; then python3 -m venv "$VENV"; fi
  # torch first, as a CPU build: a plain 'torch' requirement would pull CUDA wheels.
  if ! "$PY" -c "import torch" 2>/dev/null; then
    "$PY" -m pip install -q torch==2.13.0 2>&1 | grep -v "is ignored" || true
    "$PY" -c "import torch" || { echo "run.sh: torch could not be installed" >&2; exit 1; }
  fi
  local stamp="$VENV/.xit-installed"
  local want; want=$(sha256sum pyproject.toml | cut -c1-16)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$PY" -m pip install -q -e ".[book,dev,scale]" 2>&1 | grep -v "is ignored" || true
    "$PY" -c "import xitcore, transformers, papermill" || { echo "run.sh: install failed" >&2; exit 1; }
    echo "$want" > "$stamp"
  fi
}

case "${1:-}" in
  main)
    setup
    shift
    # The conditions that answer the research question; `xit preset e5-small` runs all of them (README).
    "$VENV/bin/xit" preset e5-small --only "$MAIN_CONDITIONS" "$@"
    ;;
  smoke)
    setup
    shift
    "$VENV/bin/xit" preset smoke "$@"
    ;;
  test)
    setup
    shift
    "$VENV/bin/python" -m pytest "$@"
    ;;
  setup)
    setup
    ;;
  *)
    echo "usage: bash run.sh main|test|smoke|setup [args]" >&2
    exit 2
    ;;
esac
