"""The evaluation report folder: report.md ties Rasa's files together; the confusion matrix is always there."""
from __future__ import annotations

import json

from kefu.training.report import write_report

SUMMARY = {"intent_accuracy": 0.75, "intent_macro_f1": 0.7, "faq_macro_f1": 0.9, "entities": {
    "time": {"precision": 0.8, "recall": 0.5, "support": 4}}, "entity_micro_precision": 0.8,
    "entity_micro_recall": 0.5, "failed_stories": 1, "per_intent_f1": {}}


def rasa_output(out):
    out.mkdir(parents=True, exist_ok=True)
    (out / "intent_report.json").write_text(json.dumps({
        "query_ticket": {"precision": 0.5, "recall": 1.0, "f1-score": 0.667, "support": 2, "confused_with": {}},
        "urge_ticket": {"precision": 1.0, "recall": 0.5, "f1-score": 0.667, "support": 2,
                        "confused_with": {"query_ticket": 1}},
        "greet": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 2, "confused_with": {}},
        "accuracy": 0.75, "macro avg": {"precision": 0.8, "recall": 0.8, "f1-score": 0.7, "support": 6},
    }, ensure_ascii=False), encoding="utf-8")
    (out / "intent_errors.json").write_text(json.dumps([
        {"text": "师傅怎么还不来 | 急", "intent": "urge_ticket",
         "intent_prediction": {"name": "query_ticket", "confidence": 0.81}},
    ], ensure_ascii=False), encoding="utf-8")
    (out / "intent_successes.json").write_text(json.dumps([
        {"text": t, "intent": i, "intent_prediction": {"name": i, "confidence": 0.9}}
        for t, i in [("查工单", "query_ticket"), ("查进度", "query_ticket"), ("催一下", "urge_ticket"),
                     ("你好", "greet"), ("在吗", "greet")]], ensure_ascii=False), encoding="utf-8")
    (out / "response_selection_errors.json").write_text(json.dumps([
        {"text": "保修几年", "intent_response_key_target": "faq/warranty_period",
         "response_prediction": {"intent_response_key": "faq/warranty_proof", "confidence": 0.6}},
    ], ensure_ascii=False), encoding="utf-8")
    # Rasa scores each extractor against all gold entities: DIET "misses" the phone number
    # the regex extractor found. Only DIET's own types (time here) are DIET's errors.
    (out / "DIETClassifier_errors.json").write_text(json.dumps([
        {"text": "明天下午来", "entities": [{"entity": "time", "value": "明天下午", "start": 0, "end": 4}],
         "predicted_entities": []},
        {"text": "电话13812345678", "entities": [{"entity": "phone", "value": "13812345678", "start": 2, "end": 13}],
         "predicted_entities": [{"entity": "phone", "value": "13812345678", "start": 2, "end": 13,
                                 "extractor": "KefuRegexEntityExtractor"}]},
    ], ensure_ascii=False), encoding="utf-8")
    (out / "DIETClassifier_successes.json").write_text(json.dumps([
        {"text": "周六上午", "entities": [{"entity": "time", "value": "周六上午", "start": 0, "end": 4}],
         "predicted_entities": [{"entity": "time", "value": "周六上午", "start": 0, "end": 4,
                                 "extractor": "DIETClassifier"}]},
    ], ensure_ascii=False), encoding="utf-8")
    (out / "failed_test_stories.yml").write_text(
        'version: "3.1"\nstories:\n- story: greet and goodbye (tests/test_stories.yml)\n  steps:\n'
        "  - intent: greet\n  - action: utter_goodbye  # predicted: utter_goodbye\n", encoding="utf-8")


def test_report_lists_everything_a_trainer_needs(tmp_path):
    out = tmp_path / "results"
    rasa_output(out)
    path = write_report(out, SUMMARY, holdout=tmp_path / "holdout.yml", stories=tmp_path / "stories.yml")
    report = path.read_text("utf-8")
    # Per-intent table, lowest F1 first, with the most frequent confusion.
    table = [line for line in report.splitlines() if line.startswith("| query_ticket") or line.startswith("| urge_ticket")
             or line.startswith("| greet")]
    assert table == ["| query_ticket | 0.500 | 1.000 | 0.667 | 2 |  |",
                     "| urge_ticket | 1.000 | 0.500 | 0.667 | 2 | query_ticket (1) |",
                     "| greet | 1.000 | 1.000 | 1.000 | 2 |  |"]
    # Misclassified examples (pipes escaped), FAQ errors, entity errors, failed stories, images.
    assert "| 师傅怎么还不来 \\| 急 | urge_ticket | query_ticket | 0.810 |" in report
    assert "| 保修几年 | faq/warranty_period | faq/warranty_proof | 0.600 |" in report
    assert "## Entity errors — DIETClassifier (1; only the entities it extracts)" in report
    assert "| 明天下午来 | time=明天下午 |  |" in report and "电话13812345678" not in report
    assert "- **greet and goodbye (tests/test_stories.yml)**" in report and "# predicted: utter_goodbye" in report
    assert "![Intent confusion matrix (holdout)](intent_confusion_matrix.png)" in report
    # Rasa did not draw the confusion matrix here: the report folder gets one anyway.
    image = out / "intent_confusion_matrix.png"
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.stat().st_size > 5000
    misclassified = json.loads((out / "misclassified.json").read_text("utf-8"))
    assert [m["expected"] for m in misclassified] == ["urge_ticket", "faq/warranty_period"]


def test_report_without_errors_or_stories(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "intent_report.json").write_text(json.dumps({"greet": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0,
                                                                  "support": 1}}), encoding="utf-8")
    report = write_report(out, {"intent_accuracy": 1.0, "intent_macro_f1": 1.0}).read_text("utf-8")
    assert "## Misclassified holdout examples (0; most confident errors first)\n\nNone." in report
    assert "Test stories: not run." in report and "## Failed test stories" not in report
