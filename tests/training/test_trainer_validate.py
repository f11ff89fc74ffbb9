"""./kefu.sh validate: Kefu's checks find what they should; Rasa's validator runs on the project."""
from __future__ import annotations

from kefu.training import validate
from kefu.training.validate import project_checks


def findings_by_check(project):
    found = {}
    for finding in project_checks(project):
        found.setdefault(finding.check, []).append(finding)
    return found


def test_a_clean_project_passes(project):
    assert [f for f in project_checks(project) if f.severity == "error"] == []
    assert validate.main(["--skip-rasa"], project=project) == 0


def test_every_project_check_fires(project, capsys):
    (project.data / "nlu" / "extra.yml").write_text(
        'version: "3.1"\nnlu:\n'
        "- intent: urge_ticket\n  examples: |\n"
        "    - 空调坏了\n"          # conflict: base.yml has it under report_repair
        "    - 催一下\n"            # duplicate of base.yml (same intent)
        "    - 催一 下\n"           # the same up to blanks: duplicate too
        "    - 怎么还没人来\n"       # holdout text
        "    - [明天](time)能到吗\n"
        "    - [空调](product)的师傅呢\n",  # product comes from the entity ruler: leave unannotated
        encoding="utf-8")
    domain = project.domain.read_text("utf-8")
    domain = domain.replace("intents: [", "intents: [chitchat, ")
    domain = domain.replace("  utter_urge:\n    - text: 已为您催办，师傅会尽快联系您。\n", "  utter_urge:\n")
    project.domain.write_text(domain, encoding="utf-8")
    (project.data / "nlu" / "chitchat.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: chitchat\n  examples: |\n    - 今天天气怎么样\n    - 讲个笑话\n', encoding="utf-8")

    found = findings_by_check(project)
    assert [f.message for f in found["conflicting-examples"]] == [
        "'空调坏了' under report_repair, urge_ticket: data/nlu/base.yml (report_repair); data/nlu/extra.yml (urge_ticket)"]
    assert len(found["duplicate-examples"]) == 1 and "3×" in found["duplicate-examples"][0].message
    assert [f.message for f in found["holdout-leakage"]] == [
        "'怎么还没人来' (urge_ticket) in data/nlu/extra.yml is a holdout text"]
    assert [f.message for f in found["response-variants"]] == ["response 'utter_urge' has 1 variant(s), needs 2"]
    assert [f.message for f in found["intent-without-story"]] == ["intent 'chitchat' appears in no story or rule"]
    assert [f.severity for f in found["intent-without-story"]] == ["warning"]
    assert "product in data/nlu/extra.yml" in found["annotated-entity"][0].message
    assert "time" not in " ".join(f.message for f in found["annotated-entity"])

    assert validate.main(["--skip-rasa"], project=project) == 1
    out = capsys.readouterr().out
    assert "ERROR   holdout-leakage" in out and "validate: FAILED" in out


def test_warnings_fail_only_when_strict(project):
    domain = project.domain.read_text("utf-8").replace("intents: [", "intents: [chitchat, ")
    project.domain.write_text(domain, encoding="utf-8")
    (project.data / "nlu" / "chitchat.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: chitchat\n  examples: |\n    - 今天天气怎么样\n    - 讲个笑话\n', encoding="utf-8")
    assert validate.main(["--skip-rasa"], project=project) == 0
    assert validate.main(["--skip-rasa", "--strict"], project=project) == 1


def test_rasa_validator_runs_on_the_project(project, capsys):
    assert validate.main([], project=project) == 0
    assert "rasa data validate: passed" in capsys.readouterr().out
    # A rule that uses an action the domain does not know: Rasa's validator fails.
    rules = project.data / "rules.yml"
    rules.write_text(rules.read_text("utf-8").replace("utter_urge", "action_not_in_domain"), encoding="utf-8")
    assert validate.main([], project=project) == 1
    assert "rasa data validate: FAILED" in capsys.readouterr().out
