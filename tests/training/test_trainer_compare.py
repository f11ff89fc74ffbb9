"""./kefu.sh compare: the rollout gate (macro-F1 may drop by at most 0.01; no test story may fail)."""
from __future__ import annotations

import json

import pytest

from kefu.training import compare
from kefu.training.compare import decide
from tests.training.conftest import copy_model

CURRENT = {"intent_macro_f1": 0.900, "failed_stories": 0}


@pytest.mark.parametrize("candidate, reasons", [
    ({"intent_macro_f1": 0.930, "failed_stories": 0}, []),
    ({"intent_macro_f1": 0.890, "failed_stories": 0}, []),  # a drop of exactly 0.01 is allowed
    ({"intent_macro_f1": 0.889, "failed_stories": 0}, ["holdout intent macro-F1 drops by 0.011"]),
    ({"intent_macro_f1": 0.950, "failed_stories": 1}, ["1 test story fail"]),
    ({"intent_macro_f1": 0.500, "failed_stories": 3}, ["3 test stories fail", "holdout intent macro-F1 drops by 0.400"]),
])
def test_decision_rule(candidate, reasons):
    found = decide(candidate, CURRENT)
    assert len(found) == len(reasons)
    assert all(f.startswith(r) for f, r in zip(found, reasons))


def test_first_rollout_and_unevaluated_stories():
    assert decide({"intent_macro_f1": 0.2, "failed_stories": 0}, None) == []  # nothing to compare with
    assert decide({"intent_macro_f1": 0.95, "failed_stories": 0}, CURRENT, stories_evaluated=False) == [
        "test stories were not evaluated"]


@pytest.mark.slow
def test_compare_refuses_a_deliberately_worse_model(project, good_model, worse_model, tmp_path, capsys):
    current = copy_model(good_model, project.models)
    candidate = copy_model(worse_model, project.models)
    out = tmp_path / "compare"
    code = compare.main(["--candidate", str(candidate), "--current", str(current), "--out", str(out)], project=project)
    assert code == 1
    verdict = json.loads((out / "compare.json").read_text("utf-8"))
    assert verdict["accepted"] is False
    reasons = " / ".join(verdict["reasons"])
    assert "test stor" in reasons and "fail" in reasons  # 你好 is answered with goodbye
    assert "holdout intent macro-F1 drops by" in reasons  # one training epoch
    assert verdict["current"]["summary"]["intent_macro_f1"] >= 0.9
    assert verdict["candidate"]["summary"]["intent_macro_f1"] < verdict["current"]["summary"]["intent_macro_f1"] - 0.01
    text = (out / "compare.md").read_text("utf-8")
    assert text.startswith("# Model comparison — REFUSED")
    assert "| holdout intent macro-F1 |" in text and "## Intents whose F1 changed" in text
    # Each evaluation folder is a complete report (used by the trainer to see why).
    for side in ("candidate", "current"):
        folder = verdict[side]["folder"]
        assert (tmp_path.joinpath(folder) / "report.md").exists()
        assert (tmp_path.joinpath(folder) / "intent_confusion_matrix.png").exists()
    assert "failed test stories" in (tmp_path.joinpath(verdict["candidate"]["folder"]) / "report.md").read_text("utf-8")
    # The verdict is on record for the rollout gate.
    record = compare.latest_comparison(compare.sha256(candidate))
    assert record["accepted"] is False and record["current"] == current.name

    # The same good model against itself passes (its evaluation comes from the cache).
    code = compare.main(["--candidate", str(current), "--current", str(current), "--out", str(tmp_path / "same")],
                        project=project)
    assert code == 0
    same = json.loads((tmp_path / "same" / "compare.json").read_text("utf-8"))
    assert same["accepted"] and same["candidate"]["cached"] and same["current"]["cached"]


def test_a_failing_reviewed_story_refuses_the_candidate():
    ok = {"intent_macro_f1": 0.95, "failed_stories": 0, "reviewed_stories_evaluated": True,
          "reviewed_stories": [{"story": "reviewed c1 turn 1", "passed": True}]}
    assert decide(ok, CURRENT) == []
    bad = {**ok, "reviewed_stories": [{"story": "reviewed c1 turn 1", "passed": True},
                                      {"story": "reviewed c2 turn 3", "passed": False}]}
    assert decide(bad, CURRENT) == ["1 reviewed story fail (data/stories/reviewed.yml): reviewed c2 turn 3"]
    assert decide({**ok, "reviewed_stories_evaluated": False, "reviewed_stories": []}, CURRENT) == [
        "reviewed stories were not evaluated"]


@pytest.mark.slow
def test_compare_runs_the_reviewed_stories_one_by_one(project, good_model, tmp_path):
    """A reviewed story the model follows passes; one a rule overrides fails and refuses the candidate."""
    from kefu.training import stories

    path = stories.reviewed_stories_file(project)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(stories.new_file_text()
                    + stories.story_block({"story": "reviewed web-1 turn 1",
                                           "steps": [{"intent": "greet"}, {"action": "utter_greet"}]})
                    + stories.story_block({"story": "reviewed web-2 turn 1",  # the rule answers utter_repair
                                           "steps": [{"intent": "report_repair"}, {"action": "utter_query"}]}),
                    encoding="utf-8")
    candidate = copy_model(good_model, project.models)
    out = tmp_path / "compare"
    code = compare.main(["--candidate", str(candidate), "--current", str(candidate), "--out", str(out)],
                        project=project)
    verdict = json.loads((out / "compare.json").read_text("utf-8"))
    assert verdict["candidate"]["summary"]["reviewed_stories"] == [
        {"story": "reviewed web-1 turn 1", "passed": True}, {"story": "reviewed web-2 turn 1", "passed": False}]
    assert code == 1 and verdict["reasons"] == [
        "1 reviewed story fail (data/stories/reviewed.yml): reviewed web-2 turn 1"]
    text = (out / "compare.md").read_text("utf-8")
    assert "## Reviewed stories (data/stories/reviewed.yml)" in text
    assert "| reviewed web-1 turn 1 | pass | pass |" in text and "| reviewed web-2 turn 1 | **FAIL** | **FAIL** |" in text
