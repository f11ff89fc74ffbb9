#!/usr/bin/env bash
# Kefu's single entry point. `./kefu.sh run` starts the whole product, `./kefu.sh test`
# runs every test suite; both install what they need first (idempotent).
set -euo pipefail
cd "$(dirname "$0")"
VENV=${KEFU_VENV:-$(pwd)/.venv}
cmd=${1:-help}
case "$cmd" in
  run)  if [[ " $* " == *" --scale"* ]]; then scripts/install.sh --scale; else scripts/install.sh; fi ;;
  test) scripts/install.sh --test ;;
  lint) scripts/install.sh --dev ;;
  help|-h|--help) ;;
  *)    [[ -x "$VENV/bin/python" ]] || scripts/install.sh ;;
esac
export PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}"
exec "$VENV/bin/python" -m kefu.cli "$@"
