"""What every corpus selection round (3, 4, 5, ...) shares: the CSV, the rows earlier rounds
took, the verbatim excerpts, the leak guard and the stable seeded sample.

Used by select_round3.py, select_round4.py and select_round5.py (before this module rounds 3
and 4 carried the same preamble by copy). Nothing here prints a text: the guard only answers
"near a guarded text or not", and the callers print counts.

Guard: a candidate is dropped when its normalised text (kefu.training.project.normalise) has a
near-duplicate (normalised Levenshtein similarity >= SIMILAR) in the real-customer test split,
the fresh holdout, the development sets, any NLU file under data/ and (from round 4 on) the
labelled texts kept out of training (scripts/corpus/pending/). The accepted output of the round
itself and of every later round (ROUND_FILES) is left out, so a re-run after the accept selects
the same rows again.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

sys.path.insert(0, str(Path(__file__).resolve().parent))
from select_reviews import pick

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from kefu.training.nluyaml import read_examples  # noqa: E402
from kefu.training.project import nlu_files, normalise  # noqa: E402

SIMILAR = 0.85
GUARDED = ["tests/nlu/real_customers_test.yml", "tests/nlu/holdout.yml", "tests/nlu/dev.yml",
           "tests/nlu/dev_holdout_v1.yml"]
PENDING = "scripts/corpus/pending"
# Where each round's accepted texts live (relative to the project root).
ROUND_FILES = {3: "scripts/corpus/pending/real_customers_round3.yml",
               4: "data/nlu/real_customers_round4.yml",
               5: "data/nlu/real_customers_round5.yml"}


def read_rows(csv_path: str) -> List[Dict[str, str]]:
    """The CSV's rows (cat, label, review), in file order: a row's index is its id."""
    with open(csv_path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def taken_rows(files: Iterable[str]) -> Set[int]:
    """The CSV rows of earlier rounds' candidate lists (JSON lines with a "row")."""
    taken: Set[int] = set()
    for name in files:
        with open(name, encoding="utf-8") as handle:
            taken |= {json.loads(line)["row"] for line in handle if line.strip()}
    return taken


def excerpts(rows: Sequence[Dict[str, str]], taken: Iterable[int], max_len: int,
             categories: Optional[Set[str]] = None) -> Iterator[Tuple[int, Dict[str, str], str]]:
    """(row index, row, verbatim excerpt) of every row not taken, in CSV order: pick()'s excerpt of
    at most max_len characters with at least 4 word characters, exact duplicates (after
    normalisation) removed; with ``categories``, other categories are skipped before anything else."""
    taken = set(taken)
    seen = set()
    for i, row in enumerate(rows):
        if i in taken or (categories is not None and row["cat"] not in categories):
            continue
        text = pick(row["review"])
        if not text or len(text) > max_len or len(re.sub(r"\W", "", text)) < 4:
            continue
        norm = normalise(text)
        if not norm or norm in seen:
            continue
        seen.add(norm)
        yield i, row, text


def item(i: int, row: Dict[str, str], text: str) -> dict:
    return {"row": i, "cat": row["cat"], "label": int(row["label"]), "text": text}


def guarded_norms(root: Path = ROOT, round_no: Optional[int] = None, pending: bool = True) -> List[str]:
    """Normalised texts no candidate may be near: held-out and dev sets, data/, pending/ (when
    ``pending``), without the accepted files of round ``round_no`` and later rounds."""
    own = {(root / rel).resolve() for n, rel in ROUND_FILES.items() if round_no is not None and n >= round_no}
    paths = [root / p for p in GUARDED] + list(nlu_files(root / "data"))
    if pending:
        paths += sorted((root / PENDING).glob("*.yml"))
    return sorted({normalise(e["text"]) for p in paths if p.exists() and p.resolve() not in own
                   for e in read_examples(p)} - {""})


def is_near(norm: str, guard: Sequence[str]) -> bool:
    """True when a guarded text is a near-duplicate of ``norm`` (never says which)."""
    return process.extractOne(norm, guard, scorer=Levenshtein.normalized_similarity,
                              score_cutoff=SIMILAR) is not None


def order_key(seed: int, row: int) -> str:
    """The stable sampling order of a row: a seeded hash, independent of the other rows."""
    return hashlib.sha1(f"{seed}:{row}".encode()).hexdigest()


def select(pools: Dict[str, List[dict]], guard: Sequence[str], quotas: Dict[str, int], seed: int) -> tuple:
    """The stable seeded sample of each pool, guarded against ``guard`` and against the round's own
    earlier picks; returns (selected rows sorted by pool and row, report lines, dropped count)."""
    guard = list(guard)
    out, report, dropped = [], [], 0
    for name, quota in quotas.items():
        pool = sorted(pools.get(name, []), key=lambda entry: order_key(seed, entry["row"]))
        kept = []
        for entry in pool:
            if len(kept) >= quota:
                break
            norm = normalise(entry["text"])
            if is_near(norm, guard):
                dropped += 1
                continue
            guard.append(norm)  # no near-duplicates within the round either
            kept.append(dict(entry, pool=name))
        report.append(f"{name}: {len(pool)} eligible, {len(kept)} selected")
        out += kept
    out.sort(key=lambda r: (r["pool"], r["row"]))
    return out, report, dropped


def emit(out: List[dict], report: List[str], dropped: int, what: str) -> None:
    """Counts to stderr, the selected rows as JSON lines to stdout."""
    for line in report:
        print(line, file=sys.stderr)
    print(f"dropped as near-duplicates of {what}: {dropped}", file=sys.stderr)
    for r in out:
        print(json.dumps(r, ensure_ascii=False))


@dataclass(frozen=True)
class Round:
    """A pooled, guarded selection round (round 4 on): its number (which accepted files its
    guard leaves out), excerpt length, categories, pools with quotas, seed and the rule that
    puts a text into a pool: ``pool_of(text, cat, label, context)``, where ``context`` is what
    ``make_context()`` builds once per run (e.g. the fault-word pattern)."""

    number: int
    max_len: int
    categories: Set[str]
    quotas: Dict[str, int]
    seed: int
    pool_of: Callable[[str, str, int, Any], Optional[str]]
    make_context: Callable[[], Any]

    def guarded_norms(self, root: Path = ROOT) -> List[str]:
        """Held-out, dev, data/ and pending/ texts, without this and later rounds' accepted files."""
        return guarded_norms(root, round_no=self.number)

    def candidates(self, rows: Sequence[Dict[str, str]], taken: Iterable[int]) -> Dict[str, List[dict]]:
        """Every eligible row by pool, in CSV order (exact duplicates after normalisation removed)."""
        context = self.make_context()
        pools: Dict[str, List[dict]] = {k: [] for k in self.quotas}
        for i, row, text in excerpts(rows, taken, self.max_len, categories=self.categories):
            pool = self.pool_of(text, row["cat"], int(row["label"]), context)
            if pool:
                pools[pool].append(item(i, row, text))
        return pools

    def select(self, pools: Dict[str, List[dict]], guard: Sequence[str], quotas: Optional[Dict[str, int]] = None,
               seed: Optional[int] = None) -> tuple:
        """The seeded sample of each pool (guarded); returns (selected rows, report lines, dropped)."""
        return select(pools, guard, self.quotas if quotas is None else quotas, self.seed if seed is None else seed)

    def main(self, csv_path: str, *taken_files: str) -> None:
        out, report, dropped = self.select(self.candidates(read_rows(csv_path), taken_rows(taken_files)),
                                           self.guarded_norms())
        emit(out, report, dropped, "held-out/dev/data/pending texts or of each other")
