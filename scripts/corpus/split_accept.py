"""Step 3 of pre-label -> review -> accept for the corpus: split, then accept the training part.

    python scripts/corpus/split_accept.py var/review/real-customers/reviewed1.yml [...] \
        --test tests/nlu/real_customers_test.yml --train data/nlu/real_customers.yml

- Texts are cleaned and masked exactly as ``kefu accept`` does (kefu.training.accept._prepare).
- Near-duplicates (normalised Levenshtein similarity >= 0.85, kefu.training.project.normalise)
  are grouped and a group goes to one side only; a group with a near-duplicate anywhere in
  data/ goes to training (the test split must never overlap data/).
- Per intent, every other group (seeded shuffle) goes to the test split: about half.
- The training part goes through kefu.training.accept.accept (holdout refusal, conflict
  check, masking, sorted YAML, decision log) into data/nlu/reviewed.yml, which is then
  renamed to the --train file.
"""
from __future__ import annotations

import argparse
import random
from collections import defaultdict
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from kefu.training import accept as accepting
from kefu.training.nluyaml import read_examples, render_training_file
from kefu.training.project import Project, load_examples, nlu_files, normalise

SIMILAR = 0.85
SEED = 20261201
HEADER = (
    "# Real customer texts: product reviews from SophonPlus/ChineseNlpCorpus online_shopping_10_cats\n"
    "# (see tests/nlu/README.md, \"Real-customer split\"). Model pre-labelled, every intent reviewed,\n"
    "# accepted with kefu.training.accept. The test half is tests/nlu/real_customers_test.yml and\n"
    "# must never be copied here (tests/nlu/test_real_customers.py).\n"
)
TEST_HEADER = (
    "# Real-customer TEST split (never copy into data/): product reviews from SophonPlus/ChineseNlpCorpus\n"
    "# online_shopping_10_cats, labelled with Kefu's intents (rules: tests/nlu/README.md).\n"
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("reviewed", nargs="+", type=Path)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--train", type=Path, required=True)
    args = parser.parse_args()
    project = Project.default()

    items = []
    for path in args.reviewed:
        for e in read_examples(path):
            text, _ = accepting._prepare(accepting.Example(e["text"], e["intent"], []))
            items.append({"text": text, "intent": e["intent"], "norm": normalise(text)})
    # one text, one label
    by_norm = {}
    for item in items:
        by_norm.setdefault(item["norm"], item)
    items = [i for i in by_norm.values() if i["norm"]]
    norms = [i["norm"] for i in items]

    # groups of near-duplicates (union-find)
    parent = list(range(len(items)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    matrix = process.cdist(norms, norms, scorer=Levenshtein.normalized_similarity, score_cutoff=SIMILAR, workers=2)
    for a, b in zip(*matrix.nonzero()):
        if a < b:
            parent[find(a)] = find(b)
    groups = defaultdict(list)
    for i in range(len(items)):
        groups[find(i)].append(i)

    data_norms = [normalise(m.get("text")) for p in nlu_files(project.data)
                  if p.resolve() not in {project.reviewed_file.resolve(), args.train.resolve()}
                  for m in load_examples(p)]
    near_data = process.cdist(norms, data_norms, scorer=Levenshtein.normalized_similarity,
                              score_cutoff=SIMILAR, workers=2).max(axis=1)

    rng = random.Random(SEED)
    by_intent = defaultdict(list)
    for _root, members in sorted(groups.items()):
        by_intent[items[members[0]]["intent"]].append(members)
    test, train = [], []
    for intent in sorted(by_intent):
        gs = by_intent[intent]
        rng.shuffle(gs)
        for n, members in enumerate(gs):
            touches_data = any(near_data[m] > 0 for m in members)
            side = train if (touches_data or n % 2 == 1) else test
            side.extend(items[m] for m in members)

    args.test.write_text(render_training_file(test, TEST_HEADER), "utf-8")
    outcomes = accepting.accept(project, [accepting.Example(i["text"], i["intent"], []) for i in train],
                                actor="corpus-review")
    refused = [o for o in outcomes if not o.ok]
    for o in refused:
        print("refused", o.intent, o.text, o.reason)
    reviewed = project.reviewed_file
    body = reviewed.read_text("utf-8").split(accepting.REVIEWED_HEADER, 1)[-1]
    args.train.write_text(HEADER + body, "utf-8")
    reviewed.unlink()
    def counts(rows):
        return dict(sorted(defaultdict(int, {k: sum(1 for r in rows if r["intent"] == k) for k in {r["intent"] for r in rows}}).items()))
    print(f"test {len(test)} -> {args.test}: {counts(test)}")
    print(f"train {len(train) - len(refused)} accepted ({len(refused)} refused) -> {args.train}: {counts(train)}")


if __name__ == "__main__":
    main()
