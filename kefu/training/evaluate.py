"""Evaluate a model: held-out NLU set + end-to-end test stories.

    ./kefu.sh evaluate [--model models/x.tar.gz] [--out results]

Writes Rasa's standard reports into `results/` (intent_report.json,
response_selection_report.json, <Extractor>_report.json, story reports) and prints a
summary: intent accuracy, macro-F1, per-intent F1, FAQ selection F1, entity
precision/recall per entity (each entity scored on the extractor that owns it), and
the test-story result. Exit code 1 if any story fails.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

from kefu import settings

# Which extractor owns which entity (config.yml): each entity is scored once.
ENTITY_OWNERS = {
    "DIETClassifier": ["time", "address", "person_name"],
    "SpacyEntityExtractor": ["product", "fault"],
    "KefuRegexEntityExtractor": ["phone", "ticket_no", "order_no", "product_model"],
}


def latest_model() -> Optional[Path]:
    models = sorted((settings.repo_root() / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


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
    entities = {}
    for extractor, names in ENTITY_OWNERS.items():
        path = out / f"{extractor}_report.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text("utf-8"))
        for name in names:
            if name in data:
                entities[name] = {k: round(data[name][k], 3) for k in ("precision", "recall", "f1-score", "support")}
    tp = sum(v["recall"] * v["support"] for v in entities.values())
    support = sum(v["support"] for v in entities.values())
    predicted = sum(v["recall"] * v["support"] / v["precision"] for v in entities.values() if v["precision"] > 0)
    summary["entities"] = entities
    summary["entity_micro_precision"] = round(tp / predicted, 3) if predicted else 0.0
    summary["entity_micro_recall"] = round(tp / support, 3) if support else 0.0
    return summary


def story_summary(out: Path) -> Dict:
    report = out / "story_report.json"
    failed = out / "failed_test_stories.yml"
    data = json.loads(report.read_text("utf-8")) if report.exists() else {}
    failed_text = failed.read_text("utf-8") if failed.exists() else ""
    n_failed = failed_text.count("- story:")
    return {"story_report": data.get("accuracy"), "failed_stories": n_failed}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="kefu evaluate")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=settings.repo_root() / "results")
    parser.add_argument("--skip-stories", action="store_true")
    args = parser.parse_args(argv or [])
    model = args.model or latest_model()
    if model is None:
        print("no model: run ./kefu.sh train first", file=sys.stderr)
        return 2
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    root = settings.repo_root()
    code = run_rasa(["test", "nlu", "--model", str(model), "--nlu", str(root / "tests/nlu/holdout.yml"), "--out", str(out)])
    if code != 0:
        return code
    summary = nlu_summary(out)
    if not args.skip_stories:
        run_rasa(["test", "core", "--model", str(model), "--stories", str(root / "tests/test_stories.yml"), "--out", str(out)])
        summary.update(story_summary(out))
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    print("\n=== Kefu evaluation:", model.name, "===")
    print(f"holdout intent accuracy {summary['intent_accuracy']:.3f}   macro-F1 {summary['intent_macro_f1']:.3f}")
    if "faq_macro_f1" in summary:
        print(f"FAQ response selection macro-F1 {summary['faq_macro_f1']:.3f}")
    print(f"entities micro precision {summary['entity_micro_precision']:.3f}   recall {summary['entity_micro_recall']:.3f}")
    for name, f1 in sorted(summary["per_intent_f1"].items(), key=lambda kv: kv[1]):
        print(f"  {name:<28} F1 {f1:.3f}")
    for name, scores in summary["entities"].items():
        print(f"  entity {name:<21} P {scores['precision']:.3f}  R {scores['recall']:.3f}  (n={scores['support']})")
    if not args.skip_stories:
        print(f"test stories failed: {summary['failed_stories']}  (details: {out / 'failed_test_stories.yml'})")
        return 1 if summary["failed_stories"] else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
