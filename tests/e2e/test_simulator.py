"""Issue 10 section 3: a fixed-seed sample of simulated customer conversations
(tests/simulator/) against the real stack, failing on any invariant violation.
The full run (2,000 conversations) is benchmarks/conversation_simulator.py."""
from __future__ import annotations

from kefu.dialogue_config import dialogue_config
from moments import MONDAY_10_BEIJING
from tests.simulator.generator import generate, load_pools
from tests.simulator.runner import Runner, prepare, run

SEED = 20261207
CONVERSATIONS = 200


def test_simulated_conversations_keep_every_invariant(stack):
    pools = load_pools()
    prepared = prepare(stack.db_url, MONDAY_10_BEIJING, pools["answers"]["phone"])
    runner = Runner(stack.rasa_url, stack.env["KEFU_REST_TOKEN"], stack.env["KEFU_RASA_TOKEN"], stack.db_url, prepared,
                    max_messages=dialogue_config().max_bot_messages_per_turn)
    report = run(runner, generate(SEED, CONVERSATIONS, pools), concurrency=6)
    assert len(report.results) == CONVERSATIONS
    assert sum(len(r.turns) for r in report.results) > 3 * CONVERSATIONS  # the plans really talked
    assert not report.violations, report.summary() + "\n" + "\n".join(str(v) for v in report.violations[:30])
