"""Remove training examples (data/nlu/*.yml) that leak a held-out text.

A training line leaks when its text, after normalisation, equals a held-out text or is a
near-duplicate of one (the rules of tests/nlu/test_holdout.py and test_real_customers.py).
The held-out text wins: the training line is deleted. Only counts are printed, never
texts, so that nobody who writes training data reads held-out text here.

    python scripts/drop_heldout_leaks.py [--dry-run]
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import List

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from rasa.shared.nlu.training_data.loading import load_data

ROOT = Path(__file__).resolve().parents[1]
HELD_OUT = [ROOT / "tests/nlu/holdout.yml", ROOT / "tests/nlu/real_customers_test.yml"]
THRESHOLD = 0.85
EXAMPLE_LINE = re.compile(r"^(\s*)- (.*)$")
HEADER = re.compile(r"^(intent|synonym|regex|lookup):")
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def normalise(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text).lower()


def plain(annotated: str) -> str:
    return ANNOTATION.sub(r"\1", annotated)


def held_out_texts() -> List[str]:
    return sorted({normalise(e.get("text")) for p in HELD_OUT if p.exists()
                   for e in load_data(str(p)).training_examples if e.get("text")} - {""})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    refs = held_out_texts()
    total = 0
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        candidates, in_intent = [], False
        for i, line in enumerate(lines):
            m = EXAMPLE_LINE.match(line.rstrip("\n"))
            if not m:
                continue
            header = HEADER.match(m.group(2))
            if header:
                in_intent = header.group(1) == "intent"  # lookups, synonyms, regexes are not examples
            elif in_intent:
                candidates.append((i, normalise(plain(m.group(2)))))
        candidates = [(i, text) for i, text in candidates if text]
        if not candidates:
            continue
        scores = process.cdist([t for _, t in candidates], refs, scorer=Levenshtein.normalized_similarity,
                               score_cutoff=THRESHOLD, dtype=np.float32, workers=1)
        drop = {i for (i, _), best in zip(candidates, scores.max(axis=1)) if best >= THRESHOLD}
        if drop:
            total += len(drop)
            print(f"{path.relative_to(ROOT)}: {len(drop)} training lines leak a held-out text")
            if not args.dry_run:
                path.write_text("".join(line for i, line in enumerate(lines) if i not in drop), encoding="utf-8")
    print(f"{total} training lines {'would be ' if args.dry_run else ''}removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
