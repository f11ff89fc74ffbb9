#!/usr/bin/env bash
# Re-resolve requirements/lock.txt from base-freeze.txt + extras.in in a scratch venv.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
python3.11 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q pip==24.3.1 setuptools==70.3.0
"$tmp/venv/bin/pip" install -q -r requirements/base-freeze.txt -r requirements/extras.in
"$tmp/venv/bin/pip" freeze | grep -v -E "^(rasa|rasa-sdk)==" > requirements/lock.txt
rm -rf "$tmp"
echo "requirements/lock.txt: $(wc -l < requirements/lock.txt) packages"
