"""Accept reviewed examples into the training data (``data/nlu/reviewed.yml``).

    ./kefu.sh accept var/review/export-…/nlu.yml     # every example left in a review file

The desk's review page calls ``accept`` for one message at a time. Every example is
checked before it is written:

- refused: empty text, Rasa entity markup in the text, unknown intent (or FAQ topic
  without an ``utter_faq/<topic>`` response), a text of the held-out set
  (tests/nlu/holdout.yml must never leak into data/), a text that another data file
  already has under a different intent (conflict: fix that file by hand);
- ``exists``: the same text with the same intent is already in the data;
- ``updated``: reviewed.yml had the text under another intent (or other entities);
- ``added`` otherwise.

Texts are masked again before writing (no personal value can reach data/), and only
the entities DIET learns (time, address, person_name) are annotated; the others come
from the entity ruler and regexes. The file is rewritten sorted by intent and text,
deduplicated, in Rasa's YAML format. Every decision is appended to
``var/review/decisions.jsonl`` (who, when, what).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set

from kefu import clock, settings
from kefu.training import masking
from kefu.training.nluyaml import clean_text, read_examples, render_training_file
from kefu.training.project import Project, TextIndex, holdout_index, normalise, nlu_files, review_lock, write_atomic

REVIEWED_HEADER = (
    "# Examples that trainers accepted from real conversations (desk review page or\n"
    "# `./kefu.sh accept`). Written by kefu/training/accept.py: one block per intent, sorted,\n"
    "# no duplicates, personal data masked. Hand edits are fine; keep the order.\n"
)
_MARKUP = re.compile(r"\[[^\]]*\]\s*[({]")
NOT_ACCEPTABLE_INTENTS = {"nlu_fallback", "session_start", "restart", "back", "out_of_scope_default"}

MESSAGES = {
    "added": "已加入训练数据",
    "updated": "已更新训练数据中的标注",
    "exists": "训练数据中已有相同例句",
    "empty": "例句为空",
    "markup": "例句含有方括号实体标记，请先删除",
    "unknown_intent": "意图不存在：{intent}",
    "holdout": "该例句属于测试集（tests/nlu/holdout.yml），不能加入训练数据",
    "conflict": "{file} 中已有相同例句，意图为 {other}；请先在该文件中确认",
}


@dataclass
class Example:
    text: str
    intent: str
    entities: List[Dict[str, Any]] = field(default_factory=list)


@dataclass
class Outcome:
    status: str  # added | updated | exists | refused
    reason: str  # the MESSAGES key
    message: str
    text: str
    intent: str
    entities: List[Dict[str, Any]] = field(default_factory=list)
    dropped_entities: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "refused"


# --- decision log --------------------------------------------------------------------------


def decisions_path() -> Path:
    return settings.var_dir() / "review" / "decisions.jsonl"


def record_decision(action: str, text: str, intent: Optional[str], actor: str, project: Project,
                    **extra: Any) -> None:
    path = decisions_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    row = {"at": clock.now().isoformat(timespec="seconds"), "actor": actor, "action": action,
           "norm": normalise(text), "text": text, "intent": intent, "project": str(project.root), **extra}
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")


def decided_texts(project: Project) -> Dict[str, dict]:
    """Normalised text -> the latest decision that took it off the review list."""
    path = decisions_path()
    decided: Dict[str, dict] = {}
    if not path.exists():
        return decided
    for line in path.read_text("utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if row.get("project") == str(project.root) and row.get("action") in ("added", "updated", "exists", "ignored"):
            decided[row["norm"]] = row
    return decided


# --- checks --------------------------------------------------------------------------------


@dataclass
class DataContext:
    intents: Set[str]
    retrieval_intents: Set[str]
    responses: Set[str]
    entities: Set[str]
    holdout: TextIndex
    others: TextIndex  # every data file except reviewed.yml


_cache: Dict[tuple, DataContext] = {}


def _signature(project: Project) -> tuple:
    files = [project.domain, project.config, *project.held_out_files, *sorted(project.data.rglob("*.yml"))]
    return tuple((str(p), p.stat().st_mtime_ns) for p in files if p.exists())


def data_context(project: Project) -> DataContext:
    key = (str(project.root), _signature(project))
    if key in _cache:
        return _cache[key]
    domain = project.load_domain()
    others = TextIndex()
    for path in nlu_files(project.data):
        if path.resolve() == project.reviewed_file.resolve():
            continue
        rel = str(path.relative_to(project.root)) if path.is_relative_to(project.root) else str(path)
        for example in read_examples(path):
            others.add(rel, example["intent"], example["text"])
    context = DataContext(
        intents=set(domain.intents),
        retrieval_intents=set(domain.retrieval_intents),
        responses=set(domain.responses),
        entities=set(domain.entities),
        holdout=holdout_index(project),
        others=others,
    )
    _cache.clear()
    _cache[key] = context
    return context


def acceptable_intents(project: Project) -> List[str]:
    """Intents (and FAQ topics as faq/<topic>) a trainer can choose on the review page."""
    context = data_context(project)
    names = [i for i in context.intents if i not in NOT_ACCEPTABLE_INTENTS and not i.startswith("EXTERNAL")
             and i not in context.retrieval_intents]
    topics = [r[len("utter_"):] for r in context.responses
              if r.startswith("utter_") and r[len("utter_"):].split("/")[0] in context.retrieval_intents and "/" in r]
    return sorted(names) + sorted(topics)


def _intent_ok(intent: str, context: DataContext) -> bool:
    base, _, topic = intent.partition("/")
    if base not in context.intents or base in NOT_ACCEPTABLE_INTENTS or base.startswith("EXTERNAL"):
        return False
    if topic:
        return base in context.retrieval_intents and f"utter_{intent}" in context.responses
    return base not in context.retrieval_intents  # a retrieval intent needs its topic


def _clean_entities(text: str, entities: Sequence[Dict[str, Any]], allowed: Iterable[str],
                    known: Set[str]) -> tuple:
    kept, dropped = [], []
    for entity in entities or ():
        name = entity.get("entity")
        try:
            start, end = int(entity["start"]), int(entity["end"])
        except (KeyError, TypeError, ValueError):
            dropped.append(str(name))
            continue
        if name not in allowed or name not in known or not 0 <= start < end <= len(text):
            dropped.append(str(name))
            continue
        value = entity.get("value")
        clean = {"entity": name, "start": start, "end": end, "value": value if value not in (None, "") else text[start:end]}
        if any(start < k["end"] and k["start"] < end for k in kept):
            dropped.append(str(name))
            continue
        kept.append(clean)
    return sorted(kept, key=lambda e: e["start"]), dropped


def _prepare(example: Example) -> tuple:
    """Clean + mask the text, move the entities along."""
    raw = example.text or ""
    one_line = "".join(" " if c.isspace() else c for c in raw)
    lead = len(one_line) - len(one_line.lstrip())
    text = clean_text(raw)
    entities = []
    for e in example.entities or ():
        e = dict(e)
        if "start" in e and "end" in e:
            try:
                e["start"], e["end"] = int(e["start"]) - lead, int(e["end"]) - lead
            except (TypeError, ValueError):
                pass
        entities.append(e)
    return masking.mask_text(text, entities)


def accept(project: Project, examples: Sequence[Example], actor: str = "cli") -> List[Outcome]:
    """Check each example and merge the acceptable ones into reviewed.yml (see module doc)."""
    context = data_context(project)
    outcomes: List[Outcome] = []
    with review_lock("accept", project.reviewed_file):
        path = project.reviewed_file
        current = read_examples(path) if path.exists() else []
        reviewed: Dict[str, Dict[str, Any]] = {}
        for row in current:
            reviewed[normalise(row["text"])] = {"text": row["text"], "intent": row["intent"], "entities": row["entities"]}
        changed = False
        for example in examples:
            text, entities = _prepare(example)
            intent = (example.intent or "").strip()
            entities, dropped = _clean_entities(text, entities, project.annotated_entities, context.entities)

            def outcome(status: str, reason: str, **fmt: Any) -> Outcome:
                return Outcome(status, reason, MESSAGES[reason].format(intent=intent, **fmt), text, intent,
                               entities, dropped)

            norm = normalise(text)
            if not norm:
                outcomes.append(outcome("refused", "empty"))
            elif _MARKUP.search(text):
                outcomes.append(outcome("refused", "markup"))
            elif not _intent_ok(intent, context):
                outcomes.append(outcome("refused", "unknown_intent"))
            elif context.holdout.file_of(text):
                outcomes.append(outcome("refused", "holdout"))
            elif context.others.intents(text) - {intent}:
                file, other, _ = next(e for e in context.others.entries[norm] if e[1] != intent)
                outcomes.append(outcome("refused", "conflict", file=file, other=other))
            elif intent in context.others.intents(text):
                outcomes.append(outcome("exists", "exists"))
            else:
                new = {"text": text, "intent": intent, "entities": entities}
                old = reviewed.get(norm)
                if old is None:
                    reviewed[norm] = new
                    outcomes.append(outcome("added", "added"))
                    changed = True
                elif old["intent"] == intent and _same_entities(old["entities"], entities) and old["text"] == text:
                    outcomes.append(outcome("exists", "exists"))
                else:
                    reviewed[norm] = new
                    outcomes.append(outcome("updated", "updated"))
                    changed = True
        if changed:
            write_atomic(path, render_training_file(reviewed.values(), REVIEWED_HEADER))
    for result in outcomes:
        record_decision(result.status if result.ok else "refused", result.text, result.intent, actor, project,
                        reason=result.reason)
    return outcomes


def _same_entities(a: Sequence[Dict[str, Any]], b: Sequence[Dict[str, Any]]) -> bool:
    def key(items):
        return sorted((e["entity"], int(e["start"]), int(e["end"]), str(e.get("value"))) for e in items)

    return key(a) == key(b)


def main(argv: Optional[List[str]] = None, project: Optional[Project] = None) -> int:
    parser = argparse.ArgumentParser(prog="kefu accept", description="Accept the examples of review files into "
                                     "data/nlu/reviewed.yml (checks: holdout, conflicts, intents).")
    parser.add_argument("files", nargs="+", type=Path, help="review files (nlu.yml of ./kefu.sh export), edited")
    parser.add_argument("--actor", default=os.environ.get("USER", "cli"))
    args = parser.parse_args(argv or [])
    project = project or Project.default()
    examples = [Example(e["text"], e["intent"], e["entities"]) for f in args.files for e in read_examples(f)]
    outcomes = accept(project, examples, actor=args.actor)
    counts: Dict[str, int] = {}
    for result in outcomes:
        counts[result.status] = counts.get(result.status, 0) + 1
        if result.status == "refused":
            print(f"refused  {result.text}  ({result.intent}): {result.reason} — {result.message}")
    print(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing to accept",
          f"→ {project.reviewed_file.relative_to(project.root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
