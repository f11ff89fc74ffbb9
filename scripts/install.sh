#!/usr/bin/env bash
# Idempotent installer: Python venv + pinned packages, widget bundle, generated NLP
# assets. `--test` also installs what the browser tests need (Debian chromium) and the
# developer tools of requirements/dev.txt; `--dev` only the developer tools.
# Every step is skipped when a stamp shows its inputs did not change.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${KEFU_VENV:-$ROOT/.venv}
PY=${KEFU_PYTHON:-python3.11}
WITH_TEST=0
WITH_SCALE=0
WITH_DEV=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1; WITH_SCALE=1; WITH_DEV=1 ;;  # the suite includes the scale-out test and the lint
    --scale) WITH_SCALE=1 ;;                          # `./kefu.sh run --scale N` needs nginx
    --dev) WITH_DEV=1 ;;                              # `./kefu.sh lint`: ruff, mypy, import-linter
  esac
done

log() { printf '\033[1;34m[install]\033[0m %s\n' "$*"; }

# 1. Python packages (Rasa 3.6 on Python 3.11: see requirements/README.md)
py_stamp=$(cat requirements/lock.txt requirements/rasa.txt scripts/install.sh | sha256sum | cut -c1-16)
dev_stamp=$(cat requirements/dev.txt | sha256sum | cut -c1-16)
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating virtualenv $VENV"
  "$PY" -m venv "$VENV"
fi
if [[ "$(cat "$VENV/.kefu-stamp" 2>/dev/null)" != "$py_stamp" ]]; then
  log "installing Python packages (first run takes a few minutes)"
  "$VENV/bin/pip" install -q --disable-pip-version-check pip==24.3.1 setuptools==70.3.0 wheel
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r requirements/lock.txt
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --ignore-requires-python -r requirements/rasa.txt
  echo "$py_stamp" > "$VENV/.kefu-stamp"
else
  log "Python packages up to date"
fi

# 1b. Developer tools for `./kefu.sh lint` (ruff, mypy, import-linter), with the tests
if [[ $WITH_DEV == 1 && "$(cat "$VENV/.kefu-dev-stamp" 2>/dev/null)" != "$dev_stamp" ]]; then
  log "installing the developer tools (requirements/dev.txt)"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r requirements/dev.txt
  echo "$dev_stamp" > "$VENV/.kefu-dev-stamp"
fi

# 2. Widget bundle (socket.io-client from the npm registry, bundled with esbuild)
if [[ -f widget/package.json ]]; then
  w_stamp=$( (cat widget/package.json widget/package-lock.json 2>/dev/null; find widget/src -type f -print0 2>/dev/null | sort -z | xargs -0 cat 2>/dev/null) | sha256sum | cut -c1-16)
  if [[ "$(cat widget/dist/.kefu-stamp 2>/dev/null)" != "$w_stamp" ]]; then
    command -v npm >/dev/null || { echo "npm is required (apt-get install -y nodejs npm)"; exit 1; }
    log "building the chat widget"
    (cd widget && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
    mkdir -p widget/dist && echo "$w_stamp" > widget/dist/.kefu-stamp
  else
    log "widget bundle up to date"
  fi
fi

# 2b. Charts for the desk's analytics page: Apache ECharts from the npm registry (pinned in
# desk/charts/package-lock.json), copied into the desk's static files; no CDN at run time.
if [[ -f desk/charts/package.json ]]; then
  c_stamp=$(cat desk/charts/package.json desk/charts/package-lock.json 2>/dev/null | sha256sum | cut -c1-16)
  if [[ "$(cat desk/static/vendor/.kefu-stamp 2>/dev/null)" != "$c_stamp" || ! -f desk/static/vendor/echarts.min.js ]]; then
    command -v npm >/dev/null || { echo "npm is required (apt-get install -y nodejs npm)"; exit 1; }
    log "installing the desk's charting library (echarts)"
    (cd desk/charts && npm ci --no-audit --no-fund --loglevel=error)
    mkdir -p desk/static/vendor
    cp desk/charts/node_modules/echarts/dist/echarts.min.js desk/static/vendor/echarts.min.js
    cp desk/charts/node_modules/echarts/LICENSE desk/static/vendor/echarts.LICENSE.txt
    echo "$c_stamp" > desk/static/vendor/.kefu-stamp
  else
    log "desk charts up to date"
  fi
fi

# apt waits for another apt/dpkg run (an unattended upgrade, a second install) instead of failing.
APT_WAIT=(-o DPkg::Lock::Timeout=600)

# 3. Browser for the end-to-end tests (Debian's chromium; Playwright drives it)
# (fonts-noto-cjk so that screenshots show Chinese text, not boxes), and faketime, with
# which the clock guard runs the time-sensitive tests under a faked wall clock.
if [[ $WITH_TEST == 1 ]] && { ! command -v chromium >/dev/null || [[ ! -d /usr/share/fonts/opentype/noto ]] \
                               || ! command -v faketime >/dev/null; }; then
  log "installing chromium, CJK fonts and faketime for the tests"
  sudo_=""; [[ $(id -u) == 0 ]] || sudo_=sudo
  $sudo_ apt-get "${APT_WAIT[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get "${APT_WAIT[@]}" install -y -qq chromium fonts-noto-cjk faketime >/dev/null
fi

# 3b. nginx (Debian's nginx-light) balances several Rasa / desk instances for
# `./kefu.sh run --scale N` and the scale-out test (deploy/nginx.conf.template).
if [[ $WITH_SCALE == 1 ]] && ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
  log "installing nginx for the scaled-out stack"
  sudo_=""; [[ $(id -u) == 0 ]] || sudo_=sudo
  $sudo_ apt-get "${APT_WAIT[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get "${APT_WAIT[@]}" install -y -qq nginx-light >/dev/null
fi

# 4. Generated NLP assets (jieba dictionary, spaCy zh pipeline) from config/catalogue.yml
"$VENV/bin/python" -m kefu.nlp.build
mkdir -p var
