"""Write data/regex.yml from kefu/numbers.py and config/catalogue.yml.

    python scripts/generate_regex.py          # rewrite the file
    python scripts/generate_regex.py --check  # exit 1 when the file is stale

The file is a training input: after a change, retrain (`./kefu.sh train`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kefu.nlp.regex_yml import REGEX_FILE, render


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report whether the file is up to date")
    args = parser.parse_args()
    text = render()
    current = REGEX_FILE.read_text(encoding="utf-8") if REGEX_FILE.exists() else ""
    if args.check:
        print(f"{REGEX_FILE}: {'up to date' if current == text else 'STALE (run scripts/generate_regex.py)'}")
        sys.exit(0 if current == text else 1)
    if current != text:
        REGEX_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {REGEX_FILE} (a training input: retrain with ./kefu.sh train)")
    else:
        print(f"{REGEX_FILE}: up to date")


if __name__ == "__main__":
    main()
