"""Export: conversations from Rasa's real SQLTrackerStore (SQLite and PostgreSQL) -> review files."""
from __future__ import annotations

import datetime as dt
import json
import time
from zoneinfo import ZoneInfo

import pytest
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.training_data.loading import load_data

from kefu.training import conversations as conv
from kefu.training import export
from tests.training.conftest import Script, save

TZ = ZoneInfo("Asia/Shanghai")


def _seed(url: str) -> None:
    now = time.time()
    # c1: repair form abandoned; "算了不报了" with low confidence; address given in the form.
    save(url, "c1-form", Script(now - 7200)
         .user("空调不制冷了要报修", "report_repair", 0.95).action("action_triage_repair").action("repair_form")
         .loop("repair_form").slot("requested_slot", "address").bot("请问上门地址是？").listen()
         .user("北京市朝阳区望京街道8号", "inform", 0.9).action("repair_form").slot("address", "北京市朝阳区望京街道8号")
         .slot("requested_slot", "phone").bot("请留一个联系电话").listen()
         .user("算了不报了", "stop_form", 0.41, ranking=[{"name": "stop_form", "confidence": 0.41},
                                                    {"name": "deny", "confidence": 0.35}])
         .action("action_deactivate_loop").loop(None).slot("requested_slot", None).listen())
    # c2: NLU fallback, then the customer asks for a person (button payload) and is handed over.
    save(url, "c2-fallback", Script(now - 5400)
         .user("你们这个东西怎么回事", "nlu_fallback", 0.45,
               ranking=[{"name": "nlu_fallback", "confidence": 0.45}, {"name": "complain", "confidence": 0.38},
                        {"name": "query_ticket", "confidence": 0.2}])
         .action("action_two_stage_fallback").loop("action_two_stage_fallback").listen()
         .user("/request_human", "request_human", 1.0).action("action_escalate").slot("handoff_active", True)
         .pause().listen())
    # c3: low satisfaction score after giving a phone number.
    save(url, "c3-survey", Script(now - 3600)
         .user("我的电话是13812345678", "inform", 0.97,
               entities=[{"entity": "phone", "start": 5, "end": 16, "value": "13812345678",
                          "extractor": "KefuRegexEntityExtractor"}])
         .slot("phone", "13812345678").action("survey_form").loop("survey_form").listen()
         .user("1分", "inform", 0.88).slot("satisfaction_score", "1").action("survey_form").loop(None)
         .action("action_submit_survey").slot("satisfaction_score", None).listen())
    # c4: a happy FAQ question (no flags); c6: the same words as c1's last message.
    save(url, "c4-ok", Script(now - 1800).user("保修期多久", "faq", 0.98, faq="faq/warranty_period")
         .action("utter_faq").listen())
    save(url, "c6-again", Script(now - 600).user("算了不报了!", "stop_form", 0.55).listen())
    # c5: a month ago (outside the default 7 days).
    save(url, "c5-old", Script(now - 30 * 86400).user("很久以前的消息", "greet", 0.3).listen())


def test_export_flags_masks_and_orders(tracker_url, tmp_path):
    _seed(tracker_url)
    out = tmp_path / "review"
    assert export.main(["--tracker-store", tracker_url, "--out", str(out), "--days", "7"]) == 0

    rows = json.loads((out / "messages.json").read_text("utf-8"))
    flags = {r["conversation_id"]: r["conversation_flags"] for r in rows}
    assert flags["c1-form"] == ["low_confidence", "failed_form"]
    assert flags["c2-fallback"] == ["low_confidence", "fallback", "escalated"]
    assert flags["c3-survey"] == ["low_satisfaction"]
    assert flags["c4-ok"] == []
    assert "c5-old" not in flags  # outside the date range
    # Lowest confidence first; a fallback message shows what NLU thought (complain), not nlu_fallback.
    assert [r["confidence"] for r in rows] == sorted(r["confidence"] for r in rows)
    # (The escalation after the button click belongs to the last typed message.)
    assert (rows[0]["text"], rows[0]["intent"], rows[0]["flags"]) == ("你们这个东西怎么回事", "complain",
                                                                     ["low_confidence", "fallback", "escalated"])
    # The same words in two conversations: one row, counted twice, lowest confidence kept.
    [again] = [r for r in rows if r["text"].startswith("算了不报了")]
    assert again["count"] == 2 and sorted(again["conversations"]) == ["c1-form", "c6-again"]
    assert again["confidence"] == 0.41 and again["flags"] == ["low_confidence", "failed_form"]
    # The FAQ topic is the full retrieval intent; button payloads are not review messages.
    assert any(r["intent"] == "faq/warranty_period" for r in rows)
    assert not any(r["text"].startswith("/") for r in rows)

    # Personal data masked in every file (message text, entity values, slots in stories).
    for name in ("nlu.yml", "stories.yml", "messages.json"):
        content = (out / name).read_text("utf-8")
        assert "13812345678" not in content and "望京" not in content, name
    phone_row = next(r for r in rows if r["conversation_id"] == "c3-survey" and "电话" in r["text"])
    assert phone_row["text"] == "我的电话是13800000000"
    assert phone_row["entities"][0]["value"] == "13800000000"
    assert phone_row["text"][phone_row["entities"][0]["start"]:phone_row["entities"][0]["end"]] == "13800000000"

    # nlu.yml: Rasa loads it; same order; predicted intents; metadata per example.
    examples = load_data(str(out / "nlu.yml")).training_examples
    assert [e.get("text") for e in examples] == [r["text"] for r in rows]
    assert [e.get_full_intent() for e in examples] == [r["intent"] for r in rows]
    assert examples[0].get("metadata")["example"]["confidence"] == rows[0]["confidence"]

    # stories.yml: Rasa's test-story format, readable by Rasa's story reader.
    steps = YAMLStoryReader().read_from_string((out / "stories.yml").read_text("utf-8"))
    names = {s.block_name for s in steps}
    assert "c1-form [low_confidence, failed_form]" in names and "c4-ok [ok]" in names
    stories = (out / "stories.yml").read_text("utf-8")
    assert "user: |" in stories and "action: action_deactivate_loop" in stories
    assert "- address: 示例市示例区示例路1号" in stories


@pytest.mark.parametrize("flag, expected", [
    ("--escalated", {"c2-fallback"}),
    ("--fallback", {"c2-fallback"}),
    ("--failed-form", {"c1-form"}),
    ("--low-satisfaction", {"c3-survey"}),
    ("--low-confidence", {"c1-form", "c2-fallback", "c6-again"}),
])
def test_export_filters(sqlite_tracker_url, tmp_path, flag, expected):
    _seed(sqlite_tracker_url)
    out = tmp_path / "review"
    export.main(["--tracker-store", sqlite_tracker_url, "--out", str(out), flag])
    rows = json.loads((out / "messages.json").read_text("utf-8"))
    assert {c for r in rows for c in r["conversations"]} == expected


def test_flags_combine_and_thresholds(sqlite_tracker_url, tmp_path):
    _seed(sqlite_tracker_url)
    store = conv.open_store(sqlite_tracker_url)
    since = dt.datetime.now(TZ) - dt.timedelta(days=7)
    found = conv.load_conversations(store, conv.Filters(since=since, flags=frozenset({"escalated", "low_satisfaction"})))
    assert {c.sender_id for c in found} == {"c2-fallback", "c3-survey"}
    # A stricter satisfaction threshold and a lower confidence threshold change the flags.
    found = conv.load_conversations(store, conv.Filters(since=since, max_satisfaction=0, confidence_threshold=0.42,
                                                        flags=frozenset({"low_satisfaction", "low_confidence"})))
    assert {c.sender_id for c in found} == {"c1-form", "c2-fallback"}
    # --flagged-only keeps only messages that carry a flag themselves.
    out = tmp_path / "flagged"
    export.main(["--tracker-store", sqlite_tracker_url, "--out", str(out), "--flagged-only"])
    rows = json.loads((out / "messages.json").read_text("utf-8"))
    assert all(r["flags"] for r in rows) and "保修期多久" not in {r["text"] for r in rows}


def test_date_range_uses_local_days():
    now = dt.datetime(2026, 11, 22, 10, 0, tzinfo=TZ)
    since, until = export.date_range("2026-11-01", "2026-11-21", None, now)
    assert since == dt.datetime(2026, 11, 1, tzinfo=TZ) and until == dt.datetime(2026, 11, 22, tzinfo=TZ)
    since, until = export.date_range(None, None, 7, now)
    assert since == now - dt.timedelta(days=7) and until is None


def test_unmasked_export_keeps_personal_data_when_asked(sqlite_tracker_url, tmp_path):
    _seed(sqlite_tracker_url)
    out = tmp_path / "raw"
    export.main(["--tracker-store", sqlite_tracker_url, "--out", str(out), "--no-mask"])
    assert "13812345678" in (out / "messages.json").read_text("utf-8")
    assert "NOT MASKED" in (out / "nlu.yml").read_text("utf-8")
