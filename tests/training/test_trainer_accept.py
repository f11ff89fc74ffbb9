"""Accepting corrected examples into data/nlu/reviewed.yml: Rasa format, sorted, no duplicates, checks."""
from __future__ import annotations

import json

from rasa.shared.nlu.training_data.loading import load_data

from kefu.training import accept as accepting
from kefu.training.accept import Example, accept


def reviewed(project):
    return project.reviewed_file.read_text("utf-8")


def test_accept_writes_sorted_rasa_yaml_without_duplicates(project):
    outcomes = accept(project, [
        Example("空调维修到哪了", "query_ticket"),
        Example("师傅明天下午能来吗", "urge_ticket", [{"entity": "time", "start": 2, "end": 6, "value": "明天下午"}]),
        Example("  空调维修到哪了？ ", "query_ticket"),  # same text (normalised): no second line
        Example("冰箱报修进度", "query_ticket"),
    ], actor="trainer1")
    assert [o.status for o in outcomes] == ["added", "added", "updated", "added"]
    assert reviewed(project).split("\n", 3)[3] == (
        'version: "3.1"\n'
        "\n"
        "nlu:\n"
        "- intent: query_ticket\n"
        "  examples: |\n"
        "    - 冰箱报修进度\n"
        "    - 空调维修到哪了？\n"
        "- intent: urge_ticket\n"
        "  examples: |\n"
        "    - 师傅[明天下午](time)能来吗\n"
    )
    examples = load_data(str(project.reviewed_file)).training_examples
    assert {(e.get("text"), e.get("intent")) for e in examples} == {
        ("冰箱报修进度", "query_ticket"), ("空调维修到哪了？", "query_ticket"), ("师傅明天下午能来吗", "urge_ticket")}
    # Accepting the same again changes nothing.
    before = reviewed(project)
    assert accept(project, [Example("冰箱报修进度", "query_ticket")])[0].status == "exists"
    assert reviewed(project) == before


def test_a_new_intent_replaces_the_old_one_in_reviewed_file(project):
    accept(project, [Example("空调维修到哪了", "report_repair")])
    [outcome] = accept(project, [Example("空调维修到哪了", "query_ticket")])
    assert outcome.status == "updated"
    assert [(e.get("text"), e.get("intent")) for e in load_data(str(project.reviewed_file)).training_examples] == [
        ("空调维修到哪了", "query_ticket")]


def test_refusals(project):
    outcomes = accept(project, [
        Example("我的工单处理到哪一步了", "query_ticket"),  # holdout text
        Example("我的工单处理到哪一步了!!", "urge_ticket"),  # holdout text, other punctuation
        Example("空调坏了", "query_ticket"),  # data/nlu/base.yml has it as report_repair
        Example("空调坏了", "report_repair"),  # already there
        Example("随便说说", "no_such_intent"),
        Example("随便说说", "nlu_fallback"),
        Example("   ", "greet"),
        Example("[明天](time)来", "urge_ticket"),
    ])
    assert [(o.status, o.reason) for o in outcomes] == [
        ("refused", "holdout"), ("refused", "holdout"), ("refused", "conflict"), ("exists", "exists"),
        ("refused", "unknown_intent"), ("refused", "unknown_intent"), ("refused", "empty"), ("refused", "markup"),
    ]
    assert "data/nlu/base.yml" in outcomes[2].message and "report_repair" in outcomes[2].message
    assert not project.reviewed_file.exists()  # nothing acceptable: no file written


def test_personal_data_never_reaches_the_data_and_only_diet_entities_are_annotated(project):
    [outcome] = accept(project, [Example(
        "我叫王小明 空调坏了 电话13812345678",
        "report_repair",
        [{"entity": "person_name", "start": 2, "end": 5, "value": "王小明"},
         {"entity": "product", "start": 6, "end": 8, "value": "空调"},
         {"entity": "phone", "start": 13, "end": 24, "value": "13812345678"},
         {"entity": "time", "start": 20, "end": 40, "value": "out of range"}],
    )])
    assert outcome.status == "added" and outcome.dropped_entities == ["product", "phone", "time"]
    content = reviewed(project)
    assert "13812345678" not in content and "王小明" not in content
    assert "    - 我叫[张三](person_name) 空调坏了 电话13800000000\n" in content


def test_decisions_are_logged_and_take_messages_off_the_list(project):
    accept(project, [Example("空调维修到哪了", "query_ticket"), Example("空调坏了", "query_ticket")], actor="li")
    accepting.record_decision("ignored", "这条不用学", None, "li", project)
    decided = accepting.decided_texts(project)
    assert set(decided) == {"空调维修到哪了", "这条不用学"}  # the refused one stays on the list
    rows = [json.loads(line) for line in accepting.decisions_path().read_text("utf-8").splitlines()]
    assert [(r["actor"], r["action"], r.get("reason")) for r in rows] == [
        ("li", "added", "added"), ("li", "refused", "conflict"), ("li", "ignored", None)]


def test_faq_topics_are_acceptable_intents_when_they_have_a_response(project):
    (project.data / "faq.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: faq/warranty_period\n  examples: |\n    - 保修多久\n    - 保修期是几年\n'
        "responses:\n  utter_faq/warranty_period:\n    - text: 整机保修一年。\n    - text: 整机一年，主要部件三年。\n",
        encoding="utf-8")
    domain = project.domain.read_text("utf-8").replace("intents: [", "intents: [faq, ")
    project.domain.write_text(domain, encoding="utf-8")
    assert "faq/warranty_period" in accepting.acceptable_intents(project)
    assert "faq" not in accepting.acceptable_intents(project)
    outcomes = accept(project, [Example("保修能管几年", "faq/warranty_period"), Example("保修能管几年啊", "faq/no_topic"),
                                Example("保修能管几年呀", "faq")])
    assert [o.status for o in outcomes] == ["added", "refused", "refused"]
    assert "- intent: faq/warranty_period\n  examples: |\n    - 保修能管几年\n" in reviewed(project)


def test_accept_command_takes_an_edited_review_file(project, tmp_path, capsys):
    from kefu.training.nluyaml import render_review_file

    review_file = tmp_path / "nlu.yml"
    # What `./kefu.sh export` wrote, after the trainer fixed the first intent and kept the rest.
    review_file.write_text(render_review_file([
        {"text": "冰箱维修进展如何", "intent": "query_ticket", "metadata": {"confidence": 0.41, "flags": ["low_confidence"]}},
        {"text": "周日下午在家", "intent": "inform",
         "entities": [{"entity": "time", "start": 0, "end": 4, "value": "周日下午"}], "metadata": {"confidence": 0.5}},
        {"text": "查下维修单", "intent": "query_ticket", "metadata": {"confidence": 0.55}},  # a holdout text
    ], header="# review export"), encoding="utf-8")
    assert accepting.main([str(review_file), "--actor", "trainer1"], project=project) == 0
    out = capsys.readouterr().out
    assert "refused  查下维修单  (query_ticket): holdout" in out and "added 2, refused 1" in out
    assert {(e.get("text"), e.get("intent")) for e in load_data(str(project.reviewed_file)).training_examples} == {
        ("冰箱维修进展如何", "query_ticket"), ("周日下午在家", "inform")}
