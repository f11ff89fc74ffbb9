"""config/dialogue.yml form_switches is the one home of "a different request inside a form":
the generated rules (data/rules_dialogue.yml) and the slot mappings' not_intent lists in
domain.yml must follow it, or a switching request would be saved as the form's answer
("算了不修了，我要退货" as the product model) before the rule sets the form aside."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

from kefu.dialogue_config import dialogue_config

ROOT = Path(__file__).resolve().parents[2]


def generator():
    spec = importlib.util.spec_from_file_location("generate_dialogue_rules", ROOT / "scripts" / "generate_dialogue_rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_rules_are_up_to_date():
    written = yaml.safe_load((ROOT / "data" / "rules_dialogue.yml").read_text(encoding="utf-8"))
    assert written["rules"] == generator().rules(), "run scripts/generate_dialogue_rules.py"


def test_every_switch_names_a_known_intent_form_and_operation():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    ticket_ops = domain["slots"]["ticket_op"]["values"]
    for intent, switch in dialogue_config().form_switches.items():
        assert intent in domain["intents"], intent
        assert switch.to in domain["forms"], switch.to
        assert switch.op is None or switch.op in ticket_ops, switch.op
        assert all(form in domain["forms"] for form in switch.only_from), switch.only_from


def test_a_switching_request_is_never_taken_as_the_forms_answer():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    config = dialogue_config()
    missing = []
    for slot, spec in domain["slots"].items():
        for mapping in spec.get("mappings", []):
            if mapping.get("type") != "from_text" or "intent" in mapping:
                continue
            for condition in mapping.get("conditions") or []:
                form = condition.get("active_loop")
                if form not in generator().FORMS:
                    continue  # no switch rules in this form (the satisfaction survey)
                ignored = domain["forms"][form].get("ignored_intents") or []  # the whole form refuses them
                for intent in config.form_switches:
                    if config.switch_for(intent, form) and intent not in (mapping.get("not_intent") or []) + ignored:
                        missing.append(f"{slot} in {form}: {intent}")
    assert not missing, missing


def test_switches_are_limited_where_the_request_is_an_answer():
    config = dialogue_config()
    assert config.switch_for("request_return", "repair_form").to == "return_form"
    assert config.switch_for("request_return", "complaint_form") is None  # "我要退货" is the complaint's demand
    assert config.switch_for("complain", "complaint_form") is None  # never into the form itself
    assert config.switch_for("urge_ticket", "repair_form").op == "urge"


def test_another_ticket_operation_inside_the_lookup_changes_it_and_the_form_goes_on():
    """"帮我催一下" while the look-up asked for the number of a ticket to query got the
    fallback (found chatting as a customer): it changes the operation (ticket_op's
    from_intent mapping), a short confirmation, and the form asks on."""
    config = dialogue_config()
    assert config.switch_for("urge_ticket", "ticket_lookup_form") is None
    assert config.op_change_for("urge_ticket", "ticket_lookup_form") == "urge"
    assert config.op_change_for("urge_ticket", "repair_form") is None  # there it is a switch
    assert config.op_change_for("complain", "complaint_form") is None
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    ticket_op_intents = {m["intent"]: m["value"] for m in domain["slots"]["ticket_op"]["mappings"]}
    rules = {r["rule"]: r for r in generator().rules()}
    for intent, switch in config.form_switches.items():
        if switch.to != "ticket_lookup_form":
            continue
        assert ticket_op_intents[intent] == switch.op  # the slot is set before the rule runs
        steps = rules[f"{intent} during ticket_lookup_form: the operation changes, the form goes on"]["steps"]
        assert steps == [{"intent": intent}, {"action": "utter_ticket_op_changed"}, {"action": "ticket_lookup_form"},
                         {"active_loop": "ticket_lookup_form"}]
    variations = domain["responses"]["utter_ticket_op_changed"]
    conditioned = {c["value"] for v in variations for c in v.get("condition", [])}
    assert conditioned == set(domain["slots"]["ticket_op"]["values"]) - {"query"} and any("condition" not in v for v in variations)


def test_a_repair_request_fills_no_installation_slot_so_the_form_steps_aside():
    """Rasa runs the form on (and no switch rule) when the message filled any of its slots:
    "那我先报个修吧，冰箱不制冷" filled the product (a from_entity mapping of every form)."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    assert dialogue_config().switch_for("report_repair", "installation_form").to == "repair_form"
    assert "report_repair" in domain["forms"]["installation_form"]["ignored_intents"]
    assert dialogue_config().switch_for("report_repair", "return_form") is None  # a fault is the return's reason
