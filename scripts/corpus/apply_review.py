"""Step 2 of pre-label -> review -> accept for the corpus: the reviewer's decisions.

    python scripts/corpus/apply_review.py REVIEW_FILE DECISIONS_JSON OUT_REVIEW_FILE

DECISIONS_JSON maps each block of REVIEW_FILE to a code (below), either by its position
(``"0"``, ``"1"``, ... as in rounds 1-3) or by its example id (``"osc10-<CSV row>"``, the
``id`` metadata prelabel.py writes; round 4 on), so a committed decision file does not depend
on the order of the review file. "D" deletes the example (not learnt, not tested). The
corrected review file keeps the model's prediction in the metadata (``predicted``), so the
corrections can be counted.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List

from kefu.training.nluyaml import read_examples, render_review_file

CODES = {
    "R": "report_repair", "C": "complain", "T": "request_return", "O": "out_of_scope", "Q": "query_order",
    "H": "thank", "S": "give_suggestion", "U": "urge_ticket", "I": "request_installation", "K": "query_ticket",
    "Fi": "faq/invoice", "Fp": "faq/warranty_proof", "Fw": "faq/warranty_period",
}


def decide(examples: List[dict], decisions: Dict[str, str]) -> List[dict]:
    """The kept examples with the reviewer's intent; every example needs a decision."""
    by_id = not all(key.isdigit() for key in decisions)
    rows = []
    for i, example in enumerate(examples):
        key = example["metadata"]["id"] if by_id else str(i)
        if key not in decisions:
            raise SystemExit(f"no decision for block {i} ({key})")
        code = decisions[key]
        if code == "D":
            continue
        meta = dict(example["metadata"])
        meta["predicted"] = example["intent"]
        rows.append({"text": example["text"], "intent": CODES[code], "entities": [], "metadata": meta})
    return rows


def main(review: str, decisions: str, out: str) -> None:
    examples = read_examples(review)
    rows = decide(examples, json.loads(Path(decisions).read_text("utf-8")))
    changed = sum(1 for r in rows if r["intent"] != r["metadata"]["predicted"])
    Path(out).write_text(render_review_file(rows, "# Reviewed (every intent checked by a trainer).\n"), "utf-8")
    print(f"{len(examples)} pre-labelled, {len(examples) - len(rows)} deleted, {len(rows)} kept,"
          f" {changed} intents corrected -> {out}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
