"""The story builder (kefu/training/stories.py): tracker events -> steps -> a reviewed story. No Rasa."""
from __future__ import annotations

import pytest
import yaml

from kefu.training import stories
from kefu.training.stories import Correction, DomainInfo, Refused, build_story, steps_from_events

DOMAIN = DomainInfo(
    intents={"greet", "affirm", "report_repair", "inform", "nlu_fallback", "thank"},
    actions={"utter_greet", "utter_ack", "utter_ask_product", "action_default_fallback", "repair_form",
             "utter_repair_start"},
    forms={"repair_form"},
    entities={"product", "phone"},
    featurized_slots={"product"},
)


def user(text, intent, confidence=0.9, entities=()):
    return {"event": "user", "text": text, "timestamp": 1.0,
            "parse_data": {"intent": {"name": intent, "confidence": confidence}, "entities": list(entities)}}


def action(name):
    return {"event": "action", "name": name, "timestamp": 1.0}


def bot(text):
    return {"event": "bot", "text": text, "timestamp": 1.0}


# 你好 -> greeting; 空调坏了 -> repair form; then 好的 fell back and the turn was reverted.
EVENTS = [
    action("action_session_start"), {"event": "session_started"}, action("action_listen"),
    user("你好", "greet"), action("utter_greet"), bot("您好，请问有什么可以帮您？"), action("action_listen"),
    user("空调坏了", "report_repair", entities=[{"entity": "product", "value": "空调", "start": 0, "end": 2}]),
    {"event": "slot", "name": "product", "value": "空调"}, {"event": "slot", "name": "phone_hint", "value": "x"},
    action("utter_repair_start"), bot("好的，我来帮您登记报修。"),
    action("repair_form"), {"event": "active_loop", "name": "repair_form"}, {"event": "active_loop", "name": None},
    action("action_listen"),
    user("好的", "nlu_fallback", 0.3), action("action_default_fallback"), bot("不好意思，这超出了小暖的服务范围啦"),
    {"event": "rewind"}, action("action_listen"),
    user("谢谢", "thank", 0.95), action("action_default_fallback"), bot("没能理解"), action("action_listen"),
]


def test_steps_show_messages_actions_and_what_the_bot_said():
    steps = steps_from_events(EVENTS)
    kinds = [(s.kind, s.name) for s in steps]
    assert kinds[:4] == [("user", "greet"), ("action", "utter_greet"), ("user", "report_repair"), ("slot", "product")]
    assert ("action", "action_listen") not in kinds and ("action", "action_session_start") not in kinds
    assert steps[1].bot == ["您好，请问有什么可以帮您？"]
    assert steps[2].entities == [{"entity": "product", "value": "空调"}]
    fallback = [s for s in steps if s.kind == "user" and s.text == "好的"][0]
    assert fallback.reverted and fallback.confidence == 0.3
    # The rewind undid the fallback turn (message and action), nothing before it.
    assert [s.name for s in steps if s.reverted] == ["nlu_fallback", "action_default_fallback"]
    assert [s.index for s in steps] == list(range(len(steps)))


def test_the_channels_session_metadata_is_not_a_step():
    """Rasa stores the client's IP address in the session_started_metadata slot: never shown."""
    steps = steps_from_events([
        action("action_session_start"), {"event": "session_started"},
        {"event": "slot", "name": "session_started_metadata", "value": {"client_ip": "203.0.113.7"}},
        action("action_listen"), user("你好", "greet", 0.98), action("utter_greet")])
    assert [(s.kind, s.name) for s in steps] == [("user", "greet"), ("action", "utter_greet")]
    assert "203.0.113.7" not in repr([s.as_dict() for s in steps])


def test_the_forms_own_turns_are_left_out():
    """A message the active form answered (its happy path) is hidden from Rasa's ML policies: not in the story."""
    steps = steps_from_events([
        action("action_listen"), user("查一下工单", "query_ticket"), action("ticket_lookup_form"),
        {"event": "active_loop", "name": "ticket_lookup_form"}, action("action_listen"),
        user("13800000000", "inform"), action("ticket_lookup_form"), {"event": "active_loop", "name": None},
        action("action_ticket_operation"), action("action_listen"), user("不对，我说的是冰箱", "correct")])
    domain = DomainInfo(intents={"query_ticket", "inform", "correct"},
                        actions={"ticket_lookup_form", "action_ticket_operation", "utter_ask_ticket_no"},
                        forms={"ticket_lookup_form"})
    story = build_story(steps, Correction("c1", len(steps) - 1, "utter_ask_ticket_no"), domain, "r")
    assert story["steps"] == [{"intent": "query_ticket"}, {"action": "ticket_lookup_form"},
                              {"action": "action_ticket_operation"}, {"intent": "correct"},
                              {"action": "utter_ask_ticket_no"}]


def test_a_wrong_action_is_replaced_and_the_story_ends_there():
    steps = steps_from_events(EVENTS)
    wrong = next(s.index for s in steps if s.kind == "action" and s.name == "action_default_fallback" and not s.reverted)
    story = build_story(steps, Correction("c1", wrong, "utter_ack"), DOMAIN, "reviewed c1", {"conversation": "c1"})
    assert story["story"] == "reviewed c1" and story["metadata"] == {"conversation": "c1"}
    assert story["steps"] == [
        {"intent": "greet"}, {"action": "utter_greet"},
        {"intent": "report_repair", "entities": [{"product": "空调"}]},
        {"slot_was_set": [{"product": "空调"}]},  # featurized slot kept; phone_hint is not
        {"action": "utter_repair_start"}, {"action": "repair_form"},
        # no active_loop steps (Rasa's ML policies never see them); the reverted 好的 turn had no effect on the conversation: not in the story
        {"intent": "thank"}, {"action": "utter_ack"},
    ]


def test_marking_a_reverted_message_keeps_it_with_the_chosen_intent():
    steps = steps_from_events(EVENTS)
    message = next(s.index for s in steps if s.kind == "user" and s.text == "好的")
    story = build_story(steps, Correction("c1", message, "utter_ack", intent="affirm"), DOMAIN, "s")
    assert story["steps"][-2:] == [{"intent": "affirm"}, {"action": "utter_ack"}]
    assert {"action": "action_default_fallback"} not in story["steps"]
    assert stories.story_texts(steps, message) == ["你好", "空调坏了", "好的"]
    assert stories.replaced_action(steps, message) == "action_default_fallback"
    assert stories.replaced_action(steps, 1) == "utter_greet"


def test_a_form_action_opens_its_loop():
    steps = steps_from_events(EVENTS)
    story = build_story(steps, Correction("c1", 1, "repair_form"), DOMAIN, "s")
    assert story["steps"] == [{"intent": "greet"}, {"action": "repair_form"}, {"active_loop": "repair_form"}]


@pytest.mark.parametrize("correction, reason", [
    (Correction("c1", 1, "utter_nonexistent"), "unknown_action"),
    (Correction("c1", 1, "utter_ack", intent="no_such_intent"), "unknown_intent"),
    (Correction("c1", 0, "utter_ack", intent="nlu_fallback"), "unknown_intent"),  # fallback is not an intent to learn
    (Correction("c1", 99, "utter_ack"), "bad_step"),
    (Correction("c1", 3, "utter_ack"), "bad_step"),  # a slot step is not a turn
])
def test_refusals(correction, reason):
    with pytest.raises(Refused) as refused:
        build_story(steps_from_events(EVENTS), correction, DOMAIN, "s")
    assert refused.value.reason == reason


def test_the_fallback_intent_of_the_corrected_message_must_be_replaced():
    steps = steps_from_events(EVENTS)
    message = next(s.index for s in steps if s.kind == "user" and s.text == "好的")
    with pytest.raises(Refused) as refused:
        build_story(steps, Correction("c1", message, "utter_ack"), DOMAIN, "s")
    assert refused.value.reason == "unknown_intent"


def test_a_story_never_spans_two_sessions():
    events = [user("你好", "greet"), action("utter_greet"), {"event": "session_started"},
              user("空调坏了", "report_repair"), action("action_default_fallback")]
    story = build_story(steps_from_events(events), Correction("c2", 3, "utter_repair_start"), DOMAIN, "s")
    assert story["steps"] == [{"intent": "report_repair"}, {"action": "utter_repair_start"}]


def test_block_appends_as_valid_yaml():
    steps = steps_from_events(EVENTS)
    story = build_story(steps, Correction("c1", 1, "utter_ack"), DOMAIN, "reviewed c1 turn 1", {"conversation": "c1"})
    text = stories.new_file_text() + stories.story_block(story) + stories.story_block({**story, "story": "second"})
    data = yaml.safe_load(text)
    assert data["version"] == "3.1" and [s["story"] for s in data["stories"]] == ["reviewed c1 turn 1", "second"]
    assert data["stories"][0]["steps"] == [{"intent": "greet"}, {"action": "utter_ack"}]


def test_story_results_from_rasas_failed_stories(tmp_path):
    reviewed = tmp_path / "reviewed.yml"
    reviewed.write_text(stories.new_file_text() + stories.story_block({"story": "a", "steps": [{"intent": "greet"}]})
                        + stories.story_block({"story": "b", "steps": [{"intent": "thank"}]}), encoding="utf-8")
    failed = tmp_path / "failed_test_stories.yml"
    failed.write_text('version: "3.1"\nstories:\n- story: b (/tmp/x.yml)\n  steps:\n  - intent: thank\n'
                      '  - action: utter_greet  # predicted: action_listen\n', encoding="utf-8")
    assert stories.story_results(reviewed, failed) == [{"story": "a", "passed": True}, {"story": "b", "passed": False}]
    failed.unlink()
    assert all(r["passed"] for r in stories.story_results(reviewed, failed))


def test_the_builder_does_not_import_rasa():
    import subprocess
    import sys

    code = ("import sys, kefu.training.stories as s; "
            "assert not [m for m in sys.modules if m == 'rasa' or m.startswith(('rasa.', 'tensorflow'))], 'rasa imported'")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).returncode == 0


def test_a_second_correction_of_the_same_turn_gets_its_own_name(tmp_path, monkeypatch):
    from tests.training.tiny import make_project

    monkeypatch.setenv("KEFU_VAR_DIR", str(tmp_path / "var"))
    project = make_project(tmp_path / "p")
    steps = steps_from_events([user("你好", "greet"), action("utter_goodbye")])
    ok = lambda project, text: (True, "")  # noqa: E731  (Rasa's validation is tested with the desk routes)
    first = stories.save_correction(project, steps, Correction("c1", 1, "utter_greet"), "t", validator=ok)
    second = stories.save_correction(project, steps, Correction("c1", 1, "utter_query"), "t", validator=ok)
    assert (first.story["story"], second.story["story"]) == ("reviewed c1 turn 1", "reviewed c1 turn 1 #2")
    failed = tmp_path / "failed.yml"
    failed.write_text("stories:\n- story: reviewed c1 turn 1 #2 (/x/reviewed.yml)\n", encoding="utf-8")
    assert stories.story_results(stories.reviewed_stories_file(project), failed) == [
        {"story": "reviewed c1 turn 1", "passed": True}, {"story": "reviewed c1 turn 1 #2", "passed": False}]


def test_rasa_detail_puts_the_story_problem_first():
    output = ("UserWarning: The following duplicated intents have been found across multiple domain files: faq\n"
              "2026 WARNING  rasa.validator  - Story structure conflict after intent 'affirm':\n"
              "  utter_goodbye predicted in 'b'\n  action_courtesy predicted in 'a'\n")
    assert stories._rasa_detail(output) == (
        "Story structure conflict after intent 'affirm': utter_goodbye predicted in 'b' action_courtesy predicted in 'a'")
    assert stories._rasa_detail("UserWarning: something project-wide\n") == "something project-wide"
