"""The evaluation report folder: Rasa's files plus ``report.md`` that ties them together.

``rasa test nlu`` writes intent_report.json, intent_errors.json, intent_successes.json,
intent_confusion_matrix.png, intent_histogram.png, response_selection_*.json and
<extractor>_errors.json; ``rasa test core`` writes story_report.json,
failed_test_stories.yml and story_confusion_matrix.png. ``write_report`` adds:

- ``report.md``: summary, per-intent table (P/R/F1/support/most confused with),
  FAQ topics, entities, the images, every misclassified example (most confident
  errors first), response-selection and entity errors, the failed test stories;
- ``intent_confusion_matrix.png`` if Rasa did not draw it (from successes + errors);
- ``misclassified.json``: intent and FAQ errors in one list, for scripts.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional

from kefu import clock

AVERAGES = ("macro avg", "weighted avg", "micro avg", "accuracy")
IMAGES = [
    ("intent_confusion_matrix.png", "Intent confusion matrix (holdout)"),
    ("intent_histogram.png", "Intent confidence histogram (holdout)"),
    ("response_selection_confusion_matrix.png", "FAQ topic confusion matrix"),
    ("story_confusion_matrix.png", "Action confusion matrix (test stories)"),
]


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: List[str], rows: List[List[Any]]) -> List[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _label_rows(report: Dict[str, Any]) -> List[List[Any]]:
    rows = []
    for name, scores in report.items():
        if name in AVERAGES or not isinstance(scores, dict) or "f1-score" not in scores:
            continue
        confused = scores.get("confused_with") or {}
        top = ", ".join(f"{k} ({v})" for k, v in sorted(confused.items(), key=lambda kv: -kv[1])[:2])
        rows.append([name, f"{scores['precision']:.3f}", f"{scores['recall']:.3f}", f"{scores['f1-score']:.3f}",
                     scores.get("support", ""), top])
    return sorted(rows, key=lambda r: (float(r[3]), r[0]))


def ensure_confusion_matrix(out: Path) -> Optional[Path]:
    """Draw intent_confusion_matrix.png from successes + errors when Rasa did not."""
    target = out / "intent_confusion_matrix.png"
    if target.exists():
        return target
    pairs = [(e["intent"], e["intent_prediction"]["name"])
             for name in ("intent_successes.json", "intent_errors.json") for e in (_load(out / name) or [])
             if e.get("intent") and (e.get("intent_prediction") or {}).get("name")]
    if not pairs:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted({p for pair in pairs for p in pair})
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for gold, predicted in pairs:
        matrix[index[gold]][index[predicted]] += 1
    size = max(6, 0.4 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value:
                ax.text(j, i, value, ha="center", va="center", fontsize=7)
    fig.tight_layout()
    fig.savefig(target, dpi=100)
    plt.close(fig)
    return target


def entity_errors(path: Path) -> List[tuple]:
    """(text, expected, predicted) of one extractor, limited to the entity types it extracts.

    Rasa scores each extractor against every annotated entity, so the regex extractor
    "misses" every product and DIET every phone number; only the extractor's own
    predictions of its own types (those it ever predicted) are real errors.
    """
    extractor = path.stem.replace("_errors", "")
    rows = _load(path) or []
    successes = _load(path.with_name(path.name.replace("_errors", "_successes"))) or []

    def own(entities):
        return [e for e in entities or [] if e.get("extractor", extractor) == extractor]

    owned = {e.get("entity") for r in [*rows, *successes] for e in own(r.get("predicted_entities"))}

    def show(entities) -> str:
        return ", ".join(f"{e.get('entity')}={e.get('value')}" for e in entities)

    found = []
    for row in rows:
        gold = [e for e in row.get("entities") or [] if e.get("entity") in owned]
        predicted = [e for e in own(row.get("predicted_entities")) if e.get("entity") in owned]
        key = lambda es: sorted((e.get("entity"), str(e.get("value")), e.get("start"), e.get("end")) for e in es)  # noqa: E731
        if key(gold) != key(predicted):
            found.append((row.get("text"), show(gold), show(predicted)))
    return found


def failed_stories(out: Path) -> List[Dict[str, Any]]:
    """Failed test stories: name and the lines Rasa marked ``# predicted: …``."""
    path = out / "failed_test_stories.yml"
    if not path.exists():
        return []
    stories, current = [], None
    for line in path.read_text("utf-8").splitlines():
        match = re.match(r"\s*-\s*story:\s*(.*)", line)
        if match:
            current = {"name": match.group(1).strip(), "problems": []}
            stories.append(current)
        elif current is not None and "# predicted:" in line:
            current["problems"].append(line.strip())
    return stories


def write_report(out: Path, summary: Dict[str, Any], model: Optional[Path] = None,
                 holdout: Optional[Path] = None, stories: Optional[Path] = None) -> Path:
    out = Path(out)
    ensure_confusion_matrix(out)
    lines: List[str] = [f"# Kefu evaluation — {model.name if model else 'model'}", ""]
    lines.append(f"Generated {clock.now().astimezone():%Y-%m-%d %H:%M}. Holdout: `{holdout}`."
                 + (f" Test stories: `{stories}`." if stories else " Test stories: not run."))
    lines += ["", "## Summary", ""]
    summary_rows = [["holdout intent accuracy", f"{summary.get('intent_accuracy', 0):.3f}"],
                    ["holdout intent macro-F1", f"{summary.get('intent_macro_f1', 0):.3f}"]]
    if "faq_macro_f1" in summary:
        summary_rows.append(["FAQ topic macro-F1", f"{summary['faq_macro_f1']:.3f}"])
    if "entity_micro_recall" in summary:
        summary_rows.append(["entities micro precision / recall",
                             f"{summary.get('entity_micro_precision', 0):.3f} / {summary['entity_micro_recall']:.3f}"])
    if "failed_stories" in summary:
        summary_rows.append(["failed test stories", summary["failed_stories"]])
    lines += _table(["measure", "value"], summary_rows)

    intent_report = _load(out / "intent_report.json") or {}
    lines += ["", "## Intents (lowest F1 first)", ""]
    lines += _table(["intent", "precision", "recall", "F1", "support", "most confused with"], _label_rows(intent_report))

    selection = _load(out / "response_selection_report.json")
    if selection:
        lines += ["", "## FAQ topics (lowest F1 first)", ""]
        lines += _table(["topic", "precision", "recall", "F1", "support", "most confused with"], _label_rows(selection))

    entities = summary.get("entities") or {}
    if entities:
        lines += ["", "## Entities (whole pipeline)", ""]
        lines += _table(["entity", "precision", "recall", "gold"],
                        [[k, f"{v['precision']:.3f}", f"{v['recall']:.3f}", v.get("support", "")]
                         for k, v in sorted(entities.items())])

    images = [(name, title) for name, title in IMAGES if (out / name).exists()]
    if images:
        lines += ["", "## Images", ""]
        lines += [f"### {title}\n\n![{title}]({name})\n" for name, title in images]

    errors = sorted(_load(out / "intent_errors.json") or [],
                    key=lambda e: -float((e.get("intent_prediction") or {}).get("confidence") or 0))
    selection_errors = _load(out / "response_selection_errors.json") or []
    misclassified = [{"text": e["text"], "expected": e.get("intent"),
                      "predicted": (e.get("intent_prediction") or {}).get("name"),
                      "confidence": round(float((e.get("intent_prediction") or {}).get("confidence") or 0), 3)}
                     for e in errors]
    for e in selection_errors:
        prediction = e.get("response_prediction") or {}
        misclassified.append({"text": e.get("text"), "expected": e.get("intent_response_key_target"),
                              "predicted": prediction.get("intent_response_key"),
                              "confidence": round(float(prediction.get("confidence") or 0), 3)})
    (out / "misclassified.json").write_text(json.dumps(misclassified, ensure_ascii=False, indent=1), encoding="utf-8")
    lines += ["", f"## Misclassified holdout examples ({len(errors)}; most confident errors first)", ""]
    if errors:
        pairs = Counter((m["expected"], m["predicted"]) for m in misclassified[: len(errors)])
        lines.append("Most frequent confusions: " + ", ".join(f"{a} → {b} ({n})" for (a, b), n in pairs.most_common(5)))
        lines.append("")
        lines += _table(["text", "expected", "predicted", "confidence"],
                        [[m["text"], m["expected"], m["predicted"], f"{m['confidence']:.3f}"]
                         for m in misclassified[: len(errors)]])
    else:
        lines.append("None.")
    if selection_errors:
        lines += ["", f"## FAQ topic errors ({len(selection_errors)})", ""]
        lines += _table(["text", "expected", "predicted", "confidence"],
                        [[m["text"], m["expected"], m["predicted"], f"{m['confidence']:.3f}"]
                         for m in misclassified[len(errors):]])

    entity_error_files = sorted(p for p in out.glob("*_errors.json")
                                if p.name not in ("intent_errors.json", "response_selection_errors.json"))
    for path in entity_error_files:
        rows = entity_errors(path)
        if not rows:
            continue
        extractor = path.stem.replace("_errors", "")
        lines += ["", f"## Entity errors — {extractor} ({len(rows)}; only the entities it extracts)", ""]
        lines += _table(["text", "expected", "predicted"], [list(r) for r in rows[:100]])

    if stories:
        failures = failed_stories(out)
        lines += ["", f"## Failed test stories ({len(failures)})", ""]
        if failures:
            for story in failures:
                lines.append(f"- **{story['name']}**")
                lines += [f"  - `{problem}`" for problem in story["problems"]]
            lines += ["", "Full stories with Rasa's `# predicted:` comments: `failed_test_stories.yml`."]
        else:
            lines.append("None.")
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
