"""Evaluate a model: held-out NLU set + end-to-end test stories.

    ./kefu.sh evaluate [--model models/x.tar.gz] [--out results]
                       [--set holdout|dev|dev_holdout_v1 | --holdout path/to/nlu.yml]
                       [--stories tests/test_stories.yml] [--skip-stories]

The NLU set is the fresh holdout `tests/nlu/holdout.yml` unless `--set` names one of
the development sets (`dev` = tests/nlu/dev.yml, `dev_holdout_v1` = the holdout before
2026-12-01) or `--holdout` gives a file. The quality gates use the holdout only.

Writes Rasa's standard reports into `results/` (intent_report.json,
response_selection_report.json, <Extractor>_report.json, story reports) and prints a
summary: intent accuracy, macro-F1, per-intent F1, FAQ selection F1, entity
precision/recall per entity (each entity scored on the extractor that owns it), and
the test-story result. Exit code 1 if any story fails.

The folder also gets `report.md` (kefu/training/report.py): per-intent F1 table,
confusion matrix image, misclassified examples, entity and story failures.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

from kefu import settings
from kefu.training.project import EVALUATION_SETS, Project

# Entities whose value is canonicalised (synonyms): the value must match too.
CANONICAL_ENTITIES = {"product", "fault"}


latest_model = settings.latest_model


def run_rasa(args: List[str]) -> int:
    return subprocess.run([sys.executable, "-m", "rasa", *args], cwd=settings.repo_root()).returncode


def nlu_summary(out: Path) -> Dict:
    report = json.loads((out / "intent_report.json").read_text("utf-8"))
    per_intent = {k: v["f1-score"] for k, v in report.items() if isinstance(v, dict) and "f1-score" in v
                  and k not in ("macro avg", "weighted avg", "micro avg")}
    summary = {
        "intent_accuracy": report.get("accuracy", report.get("micro avg", {}).get("f1-score")),
        "intent_macro_f1": report["macro avg"]["f1-score"],
        "per_intent_f1": per_intent,
    }
    selection = out / "response_selection_report.json"
    if selection.exists():
        data = json.loads(selection.read_text("utf-8"))
        summary["faq_macro_f1"] = data["macro avg"]["f1-score"]
        summary["faq_accuracy"] = data.get("accuracy")
    return summary


def entity_summary(model: Path, holdout: Path) -> Dict:
    """Entity precision/recall of the whole pipeline (all extractors together, after
    synonym mapping), as the actions see them. Rasa's own report leaves out
    pretrained extractors such as SpacyEntityExtractor, so score it here."""
    import asyncio

    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.loading import load_data

    agent = Agent.load(str(model))
    examples = load_data(str(holdout)).training_examples

    def key(e: Dict) -> tuple:
        value = str(e.get("value")) if e["entity"] in CANONICAL_ENTITIES else None
        return (e["entity"], e["start"], e["end"], value)

    async def parse_all() -> List[Dict]:
        return [await agent.parse_message(ex.get("text")) for ex in examples]

    counts: Dict[str, Dict[str, int]] = {}
    for example, parsed in zip(examples, asyncio.run(parse_all())):
        gold = {key(e) for e in example.get("entities") or []}
        predicted = {key(e) for e in parsed.get("entities") or []}
        for entity in {k[0] for k in gold | predicted}:
            c = counts.setdefault(entity, {"tp": 0, "fp": 0, "fn": 0})
            g = {k for k in gold if k[0] == entity}
            p = {k for k in predicted if k[0] == entity}
            c["tp"] += len(g & p)
            c["fp"] += len(p - g)
            c["fn"] += len(g - p)

    def ratio(a: int, b: int) -> float:
        return round(a / b, 3) if b else 0.0

    per_entity = {
        name: {"precision": ratio(c["tp"], c["tp"] + c["fp"]), "recall": ratio(c["tp"], c["tp"] + c["fn"]),
               "support": c["tp"] + c["fn"]}
        for name, c in sorted(counts.items())
    }
    tp = sum(c["tp"] for c in counts.values())
    return {
        "entities": per_entity,
        "entity_micro_precision": ratio(tp, tp + sum(c["fp"] for c in counts.values())),
        "entity_micro_recall": ratio(tp, tp + sum(c["fn"] for c in counts.values())),
    }


def story_summary(out: Path) -> Dict:
    report = out / "story_report.json"
    failed = out / "failed_test_stories.yml"
    data = json.loads(report.read_text("utf-8")) if report.exists() else {}
    failed_text = failed.read_text("utf-8") if failed.exists() else ""
    n_failed = failed_text.count("- story:")
    return {"story_report": data.get("accuracy"), "failed_stories": n_failed}


def resolve_nlu_set(name: Optional[str] = None, path: Optional[Path] = None,
                    project: Optional[Project] = None) -> Path:
    """The NLU file to evaluate on: an explicit path, a named set, or the holdout."""
    if path is not None:
        return Path(path)
    project = project or Project.default()
    return project.evaluation_set(name or "holdout")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="kefu evaluate")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=settings.repo_root() / "results")
    parser.add_argument("--skip-stories", action="store_true")
    sets = parser.add_mutually_exclusive_group()
    sets.add_argument("--set", dest="eval_set", choices=sorted(EVALUATION_SETS), default=None,
                      help="a named NLU evaluation set under tests/nlu/ (default: holdout)")
    sets.add_argument("--holdout", type=Path, default=None, help="an NLU file to evaluate on")
    parser.add_argument("--stories", type=Path, default=settings.repo_root() / "tests/test_stories.yml")
    args = parser.parse_args(argv or [])
    args.holdout = resolve_nlu_set(args.eval_set, args.holdout)
    model = args.model or latest_model()
    if model is None:
        print("no model: run ./kefu.sh train first", file=sys.stderr)
        return 2
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    code = run_rasa(["test", "nlu", "--model", str(model), "--nlu", str(args.holdout), "--out", str(out), "--successes"])
    if code != 0:
        return code
    summary = nlu_summary(out)
    summary.update(entity_summary(model, args.holdout))
    if not args.skip_stories:
        run_rasa(["test", "core", "--model", str(model), "--stories", str(args.stories), "--out", str(out)])
        summary.update(story_summary(out))
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    from kefu.training.report import write_report

    report = write_report(out, summary, model=model, holdout=args.holdout,
                          stories=None if args.skip_stories else args.stories)
    print("\n=== Kefu evaluation:", model.name, "===")
    print(f"holdout intent accuracy {summary['intent_accuracy']:.3f}   macro-F1 {summary['intent_macro_f1']:.3f}")
    if "faq_macro_f1" in summary:
        print(f"FAQ response selection macro-F1 {summary['faq_macro_f1']:.3f}")
    print(f"entities micro precision {summary['entity_micro_precision']:.3f}   recall {summary['entity_micro_recall']:.3f}")
    for name, f1 in sorted(summary["per_intent_f1"].items(), key=lambda kv: kv[1]):
        print(f"  {name:<28} F1 {f1:.3f}")
    for name, scores in summary["entities"].items():
        print(f"  entity {name:<21} P {scores['precision']:.3f}  R {scores['recall']:.3f}  (gold {scores['support']})")
    if not args.skip_stories:
        print(f"test stories failed: {summary['failed_stories']}  (details: {out / 'failed_test_stories.yml'})")
    print(f"report: {report}")
    if not args.skip_stories:
        return 1 if summary["failed_stories"] else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
