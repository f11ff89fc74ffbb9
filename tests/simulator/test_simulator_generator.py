"""The simulator's generator and turn splitting (no stack needed)."""
from __future__ import annotations

from tests.simulator.generator import SCENARIOS, generate, load_pools
from tests.simulator.runner import TrackerTurn, split_turns


def test_the_same_seed_gives_the_same_conversations_and_another_seed_others():
    assert generate(11, 120) == generate(11, 120)
    assert generate(11, 120) != generate(12, 120)


def test_a_sample_covers_every_scenario_and_every_kind_of_interjection():
    plans = generate(20261207, 200)
    assert {p.scenario for p in plans} == set(SCENARIOS)
    kinds = {i.kind for p in plans for i in p.interjections}
    assert {"courtesy", "correction", "noise", "digression_faq"} <= kinds
    assert any(p.abandon_at for p in plans) and any(k == "human" for p in plans for k, _ in p.tail)


def test_pools_hold_the_awkward_forms_of_answers():
    pools = load_pools()
    assert "178 5413 0729" in pools["answers"]["phone"] and any("-" in p for p in pools["answers"]["phone"])
    assert any(any("\u4e00" <= c <= "\u9fff" and c in "謝見沒" for c in t) for t in pools["courtesy"])  # Traditional
    assert "" in pools["noise"]["empty"]


def test_turns_are_split_at_each_customer_message():
    events = [{"event": "action", "name": "action_session_start"},
              {"event": "user", "text": "好的"}, {"event": "action", "name": "action_courtesy"},
              {"event": "bot", "text": "好的，还有什么可以帮您？"}, {"event": "action", "name": "action_listen"},
              {"event": "user", "text": "转人工"}, {"event": "action", "name": "action_escalate"},
              {"event": "active_loop", "name": "callback_form"}, {"event": "bot", "text": "a"}, {"event": "bot", "text": "b"}]
    assert split_turns(events) == [TrackerTurn(["action_courtesy"], 1),
                                   TrackerTurn(["action_escalate", "activate:callback_form"], 2)]
