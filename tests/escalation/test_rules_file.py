"""Rules-file validation (errors name the line), the condition language, and live reload."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from kefu.escalation import EscalationEngine, RulesError, TurnContext

CONFIG = Path(__file__).resolve().parents[2] / "config"
GROUPS = ("投诉专席", "维修调度", "VIP专席", "综合")

HEADER = """\
severity:
  lexicons:
    threat: high
rules:
"""


def write_rules(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(HEADER + textwrap.dedent(body), encoding="utf-8")
    return path


def load(path: Path) -> EscalationEngine:
    return EscalationEngine.from_file(path, lexicon_dir=CONFIG / "lexicons", groups=GROUPS)


def error_of(tmp_path: Path, body: str) -> RulesError:
    with pytest.raises(RulesError) as info:
        load(write_rules(tmp_path, body))
    return info.value


GOOD_RULE = """\
  - id: human
    group: 综合
    priority: 普通
    reason: 客户要求人工
    when:
      intent: request_human
"""


def test_the_shipped_rules_file_is_valid():
    engine = EscalationEngine.from_file(CONFIG / "escalation_rules.yml")
    ids = [rule.id for rule in engine.rules.rules]
    assert ids[0] == "safety_emergency" and len(ids) == len(set(ids)) >= 8


def test_unknown_rule_key_names_its_line(tmp_path):
    error = error_of(tmp_path, GOOD_RULE + "    prority: 高\n")
    assert error.line == 11
    assert "line 11" in str(error) and "unknown key 'prority'" in str(error)
    assert "rules.yml" in str(error)


def test_unknown_operator_names_its_line(tmp_path):
    error = error_of(
        tmp_path,
        """\
          - id: fallbacks
            group: 综合
            priority: 普通
            reason: 连续没听懂
            when:
              all:
                - intent: nlu_fallback
                - consecutive_fallbacks: {gtee: 2}
        """,
    )
    assert error.line == 12
    assert "unknown operator 'gtee'" in str(error) and "gte" in str(error)


def test_unknown_group_names_its_line(tmp_path):
    error = error_of(tmp_path, GOOD_RULE.replace("group: 综合", "group: 售后专席"))
    assert error.line == 6
    assert "unknown group '售后专席'" in str(error) and "投诉专席" in str(error)


def test_unknown_field_names_its_line(tmp_path):
    error = error_of(tmp_path, GOOD_RULE.replace("intent: request_human", "intnet: request_human"))
    assert error.line == 10 and "unknown field 'intnet'" in str(error)


@pytest.mark.parametrize(
    "old, new, line, message",
    [
        ("priority: 普通", "priority: 紧急", 7, "unknown priority '紧急'"),
        ("intent: request_human", "intent: {lexicon: threat}", 10, "unknown operator 'lexicon' for 'intent'"),
        ("intent: request_human", "text: {lexicon: rudeness}", 10, "unknown lexicon 'rudeness'"),
        ("intent: request_human", "severity: {gte: extreme}", 10, "unknown severity level 'extreme'"),
        ("intent: request_human", "urge_count: {gte: two}", 10, "compares with a number"),
        ("intent: request_human", "emergency: yes please", 10, "true or false"),
        ("intent: request_human", "any: []", 10, "non-empty list"),
        ("intent: request_human", "urge_count: {gte: 2, lte: 5}", 10, "exactly one operator"),
    ],
)
def test_bad_values_name_their_line(tmp_path, old, new, line, message):
    error = error_of(tmp_path, GOOD_RULE.replace(old, new))
    assert error.line == line, str(error)
    assert f"line {line}:" in str(error) and message in str(error)


def test_duplicate_ids_are_rejected(tmp_path):
    error = error_of(tmp_path, GOOD_RULE + GOOD_RULE)
    assert error.line == 11 and "duplicate rule id 'human'" in str(error)


def test_missing_key_is_reported(tmp_path):
    error = error_of(tmp_path, GOOD_RULE.replace("    reason: 客户要求人工\n", ""))
    assert error.line == 5 and "missing 'reason'" in str(error)


def test_broken_yaml_names_its_line(tmp_path):
    error = error_of(tmp_path, GOOD_RULE + "  - id: [unclosed\n")
    assert error.line is not None and error.line >= 11
    assert "not valid YAML" in str(error)


def test_unknown_severity_lexicon(tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text(HEADER.replace("threat: high", "threats: high") + GOOD_RULE, encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load(path)
    assert info.value.line == 3 and "unknown lexicon 'threats'" in str(info.value)


def test_nested_all_any_not_and_slots(tmp_path):
    engine = load(
        write_rules(
            tmp_path,
            """\
              - id: weekend_gas
                group: 维修调度
                priority: 抢修
                reason: 燃气灶问题
                when:
                  all:
                    - slots.product: [燃气灶, 热水器]
                    - any:
                        - text: {lexicon: [emergency, threat]}
                        - all: [{urge_count: {gte: 3}}, {not: {customer_tier: 普通}}]
                    - not: {intent: goodbye}
            """,
        )
    )
    gas = {"product": "燃气灶"}
    assert engine.evaluate(TurnContext(intent="inform", slots=gas, text="有燃气味")).rule_id == "weekend_gas"
    assert engine.evaluate(TurnContext(intent="goodbye", slots=gas, text="有燃气味")) is None
    assert engine.evaluate(TurnContext(intent="inform", slots={"product": "空调"}, text="有燃气味")) is None
    assert engine.evaluate(TurnContext(intent="inform", slots=gas, urge_count=3, customer_tier="金卡"))
    assert engine.evaluate(TurnContext(intent="inform", slots=gas, urge_count=3, customer_tier="普通")) is None


def test_disabled_rule_is_skipped(tmp_path):
    engine = load(write_rules(tmp_path, GOOD_RULE + "    enabled: false\n"))
    assert engine.evaluate(TurnContext(intent="request_human")) is None


def bump_mtime(path: Path) -> None:
    """Make sure the change is visible even on file systems with coarse timestamps."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def test_rules_reload_when_the_file_changes(config_copy):
    rules = config_copy / "escalation_rules.yml"
    engine = EscalationEngine.from_file(rules)
    ctx = TurnContext(intent="nlu_fallback", consecutive_fallbacks=2)
    assert engine.evaluate(ctx).group == "综合"

    rules.write_text(rules.read_text("utf-8").replace(
        "id: fallback_twice\n    group: 综合", "id: fallback_twice\n    group: 投诉专席"), "utf-8")
    bump_mtime(rules)
    assert engine.evaluate(ctx).group == "投诉专席"


def test_a_broken_edit_keeps_the_previous_rules(config_copy, caplog):
    rules = config_copy / "escalation_rules.yml"
    engine = EscalationEngine.from_file(rules)
    original = rules.read_text("utf-8")
    rules.write_text(original.replace("{gte: 2}", "{gtee: 2}", 1), "utf-8")
    bump_mtime(rules)

    decision = engine.evaluate(TurnContext(intent="nlu_fallback", consecutive_fallbacks=2))
    assert decision.rule_id == "fallback_twice"  # still served by the last valid rules
    assert "unknown operator 'gtee'" in engine.last_error and "line " in engine.last_error
    assert "not reloaded" in caplog.text

    rules.write_text(original, "utf-8")
    bump_mtime(rules)
    engine.evaluate(TurnContext())
    assert engine.last_error is None


def test_lexicon_edits_apply_without_restart(config_copy):
    engine = EscalationEngine.from_file(config_copy / "escalation_rules.yml")
    assert engine.evaluate(TurnContext(intent="complain", text="我要去找质量监督站")) is None

    threat = config_copy / "lexicons" / "threat.txt"
    threat.write_text(threat.read_text("utf-8") + "质量监督站\n", "utf-8")
    bump_mtime(threat)
    decision = engine.evaluate(TurnContext(intent="complain", text="我要去找质量监督站"))
    assert decision.rule_id == "complaint_severe" and decision.terms == ("质量监督站",)


def test_lexicon_comments_blank_lines_and_full_width(tmp_path):
    lexicons = tmp_path / "lexicons"
    lexicons.mkdir()
    (lexicons / "threat.txt").write_text("# comment\n\n１２３１５  # hotline\n媒体\n", "utf-8")
    path = tmp_path / "rules.yml"
    path.write_text(HEADER + GOOD_RULE, "utf-8")
    engine = EscalationEngine.from_file(path, lexicon_dir=lexicons, groups=GROUPS)
    assert engine.lexicons.terms["threat"] == ["12315", "媒体"]
    assert engine.severity("我 要 打 12315")[0] == "high"
