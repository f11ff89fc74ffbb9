"""Compare a candidate model with the current one on the same tests; gate the rollout.

    ./kefu.sh compare [--candidate models/new.tar.gz] [--current models/old.tar.gz]
                      [--max-drop 0.01] [--out DIR]

Both models are evaluated with ``./kefu.sh evaluate`` (holdout NLU set + test stories).
The candidate is REFUSED (exit code 1) when

- its holdout intent macro-F1 is more than ``--max-drop`` (0.01) below the current
  model's, or
- any test story fails (or the stories could not be evaluated), or
- any reviewed story fails: the stories trainers made from real conversations on the
  desk's dialogue review (data/stories/reviewed.yml, kefu/training/stories.py) are run as
  test stories (`rasa test core`) against both models and reported one by one. They are
  training data too, so a candidate that still fails one has not learnt a fix a trainer
  confirmed (usually a rule that overrides the story): shipping it would bring back a
  failure seen with a real customer, hence a refusal rather than a note.

Defaults: the candidate is the newest model in models/; the current model is the one
rolled out (var/deploy/state.json), else the newest other model in models/. With no
current model, only the story gate applies (first rollout).

Evaluations are cached per model file and test files (var/training/evaluations/), so
the current model is evaluated only once. The verdict goes to ``compare.md`` /
``compare.json`` in ``--out`` and to var/training/comparisons.jsonl, where
``./kefu.sh rollout`` looks for an accepted comparison of the model it deploys.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from kefu import clock, settings
from kefu.training import stories as reviewed
from kefu.training.project import Project

MAX_DROP = 0.01


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tests_digest(project: Project) -> str:
    digest = hashlib.sha256()
    for path in (project.holdout, project.test_stories):
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:12]


def training_dir() -> Path:
    return settings.var_dir() / "training"


@dataclass
class Evaluation:
    model: str
    sha256: str
    folder: str
    summary: Dict[str, Any]
    stories_evaluated: bool
    cached: bool = False


def evaluate_model(model: Path, project: Project, use_cache: bool = True) -> Evaluation:
    """``./kefu.sh evaluate`` on one model, cached by model hash and test-file hash."""
    from kefu.training import evaluate

    model = Path(model).resolve()
    model_sha = sha256(model)
    folder = training_dir() / "evaluations" / f"{model_sha[:16]}-{_tests_digest(project)}"
    summary_file = folder / "summary.json"
    cached = use_cache and summary_file.exists()
    if not cached:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in ("summary.json", "story_report.json", "failed_test_stories.yml"):
            (folder / stale).unlink(missing_ok=True)
        evaluate.main(["--model", str(model), "--out", str(folder), "--holdout", str(project.holdout),
                       "--stories", str(project.test_stories)])
        if not summary_file.exists():
            raise RuntimeError(f"evaluation of {model.name} failed (no {summary_file}); see the output above")
    summary = json.loads(summary_file.read_text("utf-8"))
    summary.update(reviewed_story_results(model, project, folder, use_cache=use_cache))
    return Evaluation(model=model.name, sha256=model_sha, folder=str(folder), summary=summary,
                      stories_evaluated=(folder / "story_report.json").exists(), cached=cached)


def reviewed_story_results(model: Path, project: Project, folder: Path, use_cache: bool = True) -> Dict[str, Any]:
    """The reviewed stories (data/stories/reviewed.yml) as test stories: pass/fail per story.

    ``{}`` when there are none; cached per content of the file in
    ``folder/reviewed_stories-<digest>/results.json`` (a new story does not re-run the holdout).
    """
    from kefu.training import evaluate

    path = reviewed.reviewed_stories_file(project)
    if not path.exists() or not reviewed.story_names(path):
        return {}
    out = folder / f"reviewed_stories-{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"
    results_file = out / "results.json"
    if use_cache and results_file.exists():
        return json.loads(results_file.read_text("utf-8"))
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("story_report.json", "failed_test_stories.yml", "results.json"):
        (out / stale).unlink(missing_ok=True)
    evaluate.run_rasa(["test", "core", "--model", str(model), "--stories", str(path), "--out", str(out)])
    evaluated = (out / "story_report.json").exists()
    results = reviewed.story_results(path, out / "failed_test_stories.yml") if evaluated else []
    data = {"reviewed_stories": results, "reviewed_stories_evaluated": evaluated,
            "failed_reviewed_stories": sum(1 for r in results if not r["passed"]) if evaluated else None}
    results_file.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return data


@dataclass
class Verdict:
    accepted: bool
    reasons: List[str]
    candidate: Evaluation
    current: Optional[Evaluation]
    max_drop: float
    at: str = field(default_factory=lambda: clock.now().isoformat(timespec="seconds"))

    @property
    def f1_delta(self) -> Optional[float]:
        if self.current is None:
            return None
        return self.candidate.summary["intent_macro_f1"] - self.current.summary["intent_macro_f1"]


def decide(candidate: Dict[str, Any], current: Optional[Dict[str, Any]], stories_evaluated: bool = True,
           max_drop: float = MAX_DROP) -> List[str]:
    """Reasons to refuse the candidate (empty: accepted). Summaries as summary.json."""
    reasons = []
    if not stories_evaluated or candidate.get("failed_stories") is None:
        reasons.append("test stories were not evaluated")
    elif candidate["failed_stories"] > 0:
        reasons.append(f"{candidate['failed_stories']} test stor{'y' if candidate['failed_stories'] == 1 else 'ies'} fail")
    if "reviewed_stories_evaluated" in candidate:
        if not candidate["reviewed_stories_evaluated"]:
            reasons.append("reviewed stories were not evaluated")
        else:
            failing = [r["story"] for r in candidate["reviewed_stories"] if not r["passed"]]
            if failing:
                reasons.append(f"{len(failing)} reviewed stor{'y' if len(failing) == 1 else 'ies'} fail "
                               f"(data/stories/reviewed.yml): {', '.join(failing)}")
    if current is not None:
        drop = current["intent_macro_f1"] - candidate["intent_macro_f1"]
        if drop > max_drop + 1e-9:
            reasons.append(f"holdout intent macro-F1 drops by {drop:.3f} "
                           f"({current['intent_macro_f1']:.3f} → {candidate['intent_macro_f1']:.3f}; allowed {max_drop:.3f})")
    return reasons


def compare(candidate: Path, current: Optional[Path], project: Project, max_drop: float = MAX_DROP) -> Verdict:
    cand = evaluate_model(candidate, project)
    cur = evaluate_model(current, project) if current is not None else None
    reasons = decide(cand.summary, cur.summary if cur else None, cand.stories_evaluated, max_drop)
    return Verdict(accepted=not reasons, reasons=reasons, candidate=cand, current=cur, max_drop=max_drop)


def comparisons_log() -> Path:
    return training_dir() / "comparisons.jsonl"


def record(verdict: Verdict) -> None:
    path = comparisons_log()
    path.parent.mkdir(parents=True, exist_ok=True)
    row = {
        "at": verdict.at,
        "candidate": verdict.candidate.model,
        "candidate_sha256": verdict.candidate.sha256,
        "current": verdict.current.model if verdict.current else None,
        "current_sha256": verdict.current.sha256 if verdict.current else None,
        "accepted": verdict.accepted,
        "reasons": verdict.reasons,
        "candidate_macro_f1": verdict.candidate.summary["intent_macro_f1"],
        "current_macro_f1": verdict.current.summary["intent_macro_f1"] if verdict.current else None,
    }
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")


def latest_comparison(model_sha256: str) -> Optional[Dict[str, Any]]:
    path = comparisons_log()
    if not path.exists():
        return None
    found = None
    for line in path.read_text("utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if row.get("candidate_sha256") == model_sha256:
            found = row
    return found


def render(verdict: Verdict) -> str:
    cand, cur = verdict.candidate, verdict.current
    lines = [f"# Model comparison — {'ACCEPTED' if verdict.accepted else 'REFUSED'}", ""]
    lines.append(f"Candidate `{cand.model}` vs current `{cur.model if cur else '(none: first rollout)'}`, "
                 f"{verdict.at}. Rule: refuse if holdout macro-F1 drops by more than {verdict.max_drop:.3f} "
                 "or any test story or reviewed story fails.")
    if verdict.reasons:
        lines += ["", "Refused because:"] + [f"- {r}" for r in verdict.reasons]
    lines += ["", "| measure | current | candidate | Δ |", "|---|---|---|---|"]

    def row(label: str, key: str, fmt: str = "{:.3f}") -> None:
        a = cur.summary.get(key) if cur else None
        b = cand.summary.get(key)
        delta = (b - a) if isinstance(a, (int, float)) and isinstance(b, (int, float)) else None
        show = lambda v: fmt.format(v) if isinstance(v, (int, float)) else "–"  # noqa: E731
        lines.append(f"| {label} | {show(a)} | {show(b)} | {('%+.3f' % delta) if delta is not None else '–'} |")

    row("holdout intent macro-F1", "intent_macro_f1")
    row("holdout intent accuracy", "intent_accuracy")
    row("FAQ topic macro-F1", "faq_macro_f1")
    row("entity micro recall", "entity_micro_recall")
    row("failed test stories", "failed_stories", "{:d}")
    if cand.summary.get("reviewed_stories"):
        before = {r["story"]: r["passed"] for r in (cur.summary.get("reviewed_stories") or [])} if cur else {}
        mark = lambda v: "–" if v is None else ("pass" if v else "**FAIL**")  # noqa: E731
        passed = sum(1 for r in cand.summary["reviewed_stories"] if r["passed"])
        lines += ["", "## Reviewed stories (data/stories/reviewed.yml)", "",
                  f"Stories trainers made from real conversations on the desk (对话纠正): "
                  f"{passed} of {len(cand.summary['reviewed_stories'])} pass on the candidate.", "",
                  "| story | current | candidate |", "|---|---|---|"]
        lines += [f"| {r['story']} | {mark(before.get(r['story']))} | {mark(r['passed'])} |"
                  for r in cand.summary["reviewed_stories"]]
    if cur:
        a, b = cur.summary.get("per_intent_f1", {}), cand.summary.get("per_intent_f1", {})
        changed = sorted(((k, a.get(k), b.get(k)) for k in set(a) | set(b)
                          if abs((b.get(k) or 0) - (a.get(k) or 0)) >= 0.005), key=lambda t: (t[2] or 0) - (t[1] or 0))
        lines += ["", "## Intents whose F1 changed", ""]
        if changed:
            lines += ["| intent | current | candidate | Δ |", "|---|---|---|---|"]
            lines += [f"| {k} | {(x or 0):.3f} | {(y or 0):.3f} | {(y or 0) - (x or 0):+.3f} |" for k, x, y in changed]
        else:
            lines.append("None.")
    lines += ["", "Evaluation reports (report.md, confusion matrix, misclassified examples, failed stories):",
              f"- candidate: `{cand.folder}`"]
    if cur:
        lines.append(f"- current: `{cur.folder}`")
    return "\n".join(lines) + "\n"


def default_current(project: Project, candidate: Path) -> Optional[Path]:
    from kefu.training.deploy import load_state

    state = load_state()
    current = state.get("current")
    if current and Path(current["path"]).exists():
        if Path(current["path"]).resolve() != Path(candidate).resolve():
            return Path(current["path"])
        return None
    return project.latest_model(exclude=[candidate])


def main(argv: Optional[List[str]] = None, project: Optional[Project] = None) -> int:
    parser = argparse.ArgumentParser(prog="kefu compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidate", type=Path, default=None, help="default: newest model in models/")
    parser.add_argument("--current", type=Path, default=None, help="default: the rolled-out model")
    parser.add_argument("--max-drop", type=float, default=MAX_DROP)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv or [])
    project = project or Project.default()
    candidate = args.candidate or project.latest_model()
    if candidate is None:
        print("no model: run ./kefu.sh train first", file=sys.stderr)
        return 2
    current = args.current or default_current(project, candidate)
    print(f"comparing candidate {candidate.name} with current {current.name if current else '(none)'} "
          "(each evaluation: holdout + test stories, a few minutes) …", flush=True)
    verdict = compare(candidate, current, project, args.max_drop)
    record(verdict)
    out = args.out or training_dir() / "compare" / Path(candidate).name.replace(".tar.gz", "")
    out.mkdir(parents=True, exist_ok=True)
    text = render(verdict)
    (out / "compare.md").write_text(text, encoding="utf-8")
    (out / "compare.json").write_text(json.dumps(asdict(verdict), ensure_ascii=False, indent=2), encoding="utf-8")
    print("\n" + text)
    print(f"written: {out / 'compare.md'}")
    return 0 if verdict.accepted else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
