"""Accept a reviewed corpus round into its own data file (issue 10, round 3 and later).

    python scripts/corpus/accept_round.py var/review/real-customers/reviewed3.yml \
        --train scripts/corpus/pending/real_customers_round3.yml

Unlike split_accept.py this never writes the test split: every reviewed text goes to
training, except texts that are (near-)duplicates of a held-out or development text.
Guard (counts only are printed, never a text): a text is refused when its normalised form
has a normalised Levenshtein similarity >= 0.85 with any text of the real-customer test split,
the fresh holdout or a development set (tests/nlu/*.yml). The rest goes through
kefu.training.accept.accept (holdout refusal, conflict check, masking, sorted YAML,
decision log) into data/nlu/reviewed.yml, which is then renamed to the --train file.
"""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from kefu.training import accept as accepting
from kefu.training.nluyaml import read_examples
from kefu.training.project import Project, normalise

SIMILAR = 0.85
GUARDED = ("real_customers_test.yml", "holdout.yml", "dev.yml", "dev_holdout_v1.yml")


def guarded_norms(project: Project) -> list:
    folder = project.holdout.parent
    return [normalise(e["text"]) for name in GUARDED if (folder / name).exists()
            for e in read_examples(folder / name)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("reviewed", nargs="+", type=Path)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--header", default="")
    args = parser.parse_args()
    project = Project.default()
    if project.reviewed_file.exists():
        raise SystemExit(f"{project.reviewed_file} exists: accept or move it first")
    guard = guarded_norms(project)
    examples, guarded = [], 0
    for path in args.reviewed:
        for e in read_examples(path):
            text, _ = accepting._prepare(accepting.Example(e["text"], e["intent"], []))
            norm = normalise(text)
            if norm and process.extractOne(norm, guard, scorer=Levenshtein.normalized_similarity,
                                           score_cutoff=SIMILAR) is not None:
                guarded += 1
                continue
            examples.append(accepting.Example(text, e["intent"], []))
    outcomes = accepting.accept(project, examples, actor="corpus-review")
    refused = Counter(o.reason for o in outcomes if not o.ok)
    reviewed = project.reviewed_file
    if reviewed.exists():
        body = reviewed.read_text("utf-8").split(accepting.REVIEWED_HEADER, 1)[-1]
        args.train.write_text(args.header + body, "utf-8")
        reviewed.unlink()
    added = Counter(o.intent for o in outcomes if o.status == "added")
    print(f"guarded (near-duplicate of a held-out/dev text): {guarded}; refused: {dict(refused)};"
          f" existing: {sum(1 for o in outcomes if o.status == 'exists')}")
    print(f"added {sum(added.values())} -> {args.train}: {dict(sorted(added.items()))}")


if __name__ == "__main__":
    main()
