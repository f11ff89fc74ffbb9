"""Issue 10 section 3: a fixed-seed sample of simulated customer conversations
(tests/simulator/) against the real stack.

The invariants the issue names fail the test on any violation: at most 4 bot messages a
turn, no fallback or hand-off on a courtesy turn, exactly one ticket per completed form whose
number the customer was told, no message without a reply. The two dialogue-quality kinds the
simulator adds — a form that asks the same question again and again (form_stuck, mostly an
answer the NLU reads as out_of_scope) and a plain answer that leads into another form
(form_derailed) — are printed and held under a regression budget until the NLU reads those
answers: the target is 0 (README, known gaps); the budget only stops them growing.
The full run (2,000 conversations) is benchmarks/conversation_simulator.py."""
from __future__ import annotations

from kefu.dialogue_config import dialogue_config
from moments import MONDAY_10_BEIJING
from tests.simulator.generator import generate, load_pools
from tests.simulator.runner import Runner, prepare, run

SEED = 20261207
CONVERSATIONS = 200
# Measured 2026-12-06 on seed 20261207 with model 20261206-034410-slim-silo: form_stuck 19,
# form_derailed 2. Evening, model 20261206-195216-fixed-driver (branch sim: return-for-a-fault
# examples, runner answering the two-stage question once): form_stuck 7 (all the address
# question: DIET's span cut the answer short), then 0 with the whole answer taken
# (actions/forms.py plausible_address); form_derailed 3 ("麻烦帮我登记一下维修，X的问题" read as
# query_ticket). A budget with a small room for training noise, not a target (0).
QUALITY_BUDGET = {"form_stuck": 3, "form_derailed": 5}


def test_simulated_conversations_keep_every_invariant(stack):
    pools = load_pools()
    prepared = prepare(stack.db_url, MONDAY_10_BEIJING, pools["answers"]["phone"])
    runner = Runner(stack.rasa_url, stack.env["KEFU_REST_TOKEN"], stack.env["KEFU_RASA_TOKEN"], stack.db_url, prepared,
                    max_messages=dialogue_config().max_bot_messages_per_turn)
    report = run(runner, generate(SEED, CONVERSATIONS, pools), concurrency=6)
    assert len(report.results) == CONVERSATIONS
    assert sum(len(r.turns) for r in report.results) > 3 * CONVERSATIONS  # the plans really talked
    print("\n" + report.summary())
    critical = [v for v in report.violations if v.kind not in QUALITY_BUDGET]
    assert not critical, report.summary() + "\n" + "\n".join(str(v) for v in critical[:30])
    over = {kind: n for kind, n in report.by_kind().items() if n > QUALITY_BUDGET.get(kind, 0)}
    assert not over, f"over the regression budget {QUALITY_BUDGET}: {over}\n" + report.summary()
