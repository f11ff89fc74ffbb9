"""Round-5 corpus tools: the shared round module (scripts/corpus/rounds.py), the round-5
selection (scripts/corpus/select_round5.py: pools, leak guard, reproducibility) and the
accepted file data/nlu/real_customers_round5.yml against its committed decisions.

Synthetic rows for the selection; the guard is tested on a temporary project. The one test that
compares the accepted file with the evaluation files reports counts only, never a text.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "corpus"))
import apply_review  # noqa: E402
import rounds  # noqa: E402
import select_round5 as r5  # noqa: E402

from kefu.training.nluyaml import read_examples  # noqa: E402

ACCEPTED = ROOT / rounds.ROUND_FILES[5]
DECISIONS = ROOT / "scripts/corpus/decisions/round5.json"


@pytest.fixture(scope="module")
def faults():
    return r5.fault_words()


@pytest.mark.parametrize("text, cat, label, pool", [
    ("退货一直都在审核中，也没人联系我", "平板", 0, "ticket"),
    ("前天找客服，到今天都没人回我", "平板", 0, "ticket"),
    ("下单五天了，什么时候发货啊", "平板", 0, "ticket"),  # a negative review's date question is a chaser
    ("下单五天了，什么时候发货啊", "平板", 1, "when"),
    ("不知道多久能送到", "计算机", 1, "when"),
    ("屏幕碎了，附近哪里可以维修", "平板", 1, "repair"),
    ("用了两个月，有点小毛病", "热水器", 0, "heater"),
    ("快递员不送上楼", "平板", 0, "delivery"),
    ("晚上一直嗡嗡的，有声音没画面", "平板", 0, "symptom"),
    ("用了不到一周就开不了机", "手机", 0, "fault"),
])
def test_each_weak_intent_has_its_pool(text, cat, label, pool, faults):
    assert r5.pool_of(text, cat, label, faults) == pool


def test_texts_outside_the_weak_intents_are_not_selected(faults):
    assert r5.pool_of("外观很漂亮，运行很流畅", "平板", 1, faults) is None  # praise
    assert r5.pool_of("用了几天才来评价，很好用", "平板", 1, faults) is None  # 几天 is no delivery date
    assert r5.pool_of("退货申请了还没人处理，催了三次", "平板", 0, faults) is None  # has 催
    assert r5.pool_of("快递员不送上楼", "平板", 1, faults) is None  # not a negative review
    # a catalogue fault word (异响) is a fault keyword: no "symptom without keyword"; a water
    # heater's negative review is in the heater pool whatever it says
    assert r5.pool_of("用了一个月有异响", "平板", 0, faults) == "fault"
    assert r5.pool_of("用了一个月有异响", "热水器", 0, faults) == "heater"


# (category, sentiment, review): 0 symptom, 1 its exact duplicate, 2 not an appliance category,
# 3 too long with no sentence to cut, 4 fault, 5 delivery, 6 a near-duplicate of 5
ROWS = [dict(zip(("cat", "label", "review"), row)) for row in (
    ("平板", "0", "晚上一直嗡嗡的，有声音没画面"), ("平板", "0", "晚上一直嗡嗡的，有声音没画面！"),
    ("书籍", "0", "快递员不送上楼，书两周才到"), ("平板", "0", "快递员不送上楼，" + "非常失望" * 20),
    ("手机", "0", "用了不到一周就开不了机"), ("平板", "0", "快递员不送上楼，要我下去拿"),
    ("平板", "0", "快递员不送上楼，要我下去拿呢"))]


def test_candidates_skip_taken_rows_duplicates_other_categories_and_long_texts():
    pools = r5.ROUND.candidates(ROWS, taken={4})
    assert {pool: [item["row"] for item in items] for pool, items in pools.items() if items} == {
        "symptom": [0], "delivery": [5, 6]}
    # the guard and the near-duplicates within a round: rounds.select, tested in test_corpus_round4.py
    out, _, dropped = r5.ROUND.select(r5.ROUND.candidates(ROWS, taken=()), guard=[r5.normalise("用了不到一周就开不了机啊")])
    assert sorted(item["pool"] for item in out) == ["delivery", "symptom"] and dropped == 2


def test_selection_is_reproducible_and_differs_from_round_4():
    items = [{"row": i, "cat": "平板", "label": 0, "text": "".join(chr(0x4E00 + 10 * i + k) for k in range(10))}
             for i in range(40)]
    first, _, _ = r5.ROUND.select({"symptom": items}, guard=[], quotas={"symptom": 10})
    again, _, _ = r5.ROUND.select({"symptom": list(reversed(items))}, guard=[], quotas={"symptom": 10})
    assert first == again  # input order does not matter
    round4_seed, _, _ = r5.ROUND.select({"symptom": items}, guard=[], quotas={"symptom": 10}, seed=20261207)
    assert [i["row"] for i in round4_seed] != [i["row"] for i in first]  # a seed of its own


def test_taken_rows_and_excerpts(tmp_path):
    first = tmp_path / "round1.jsonl"
    first.write_text('{"row": 4}\n\n{"row": 0}\n', "utf-8")
    assert rounds.taken_rows([str(first)]) == {0, 4}
    got = [(i, text) for i, _, text in rounds.excerpts(ROWS, {4}, 60, categories={"平板"})]
    assert got == [(0, "晚上一直嗡嗡的，有声音没画面"), (5, "快递员不送上楼，要我下去拿"), (6, "快递员不送上楼，要我下去拿呢")]


def _project(tmp_path):
    nlu = 'version: "3.1"\nnlu:\n- intent: complain\n  examples: |\n    - {}\n'
    for rel, text in [("tests/nlu/holdout.yml", "甲乙丙"), ("tests/nlu/real_customers_test.yml", "丁戊己"),
                      ("tests/nlu/dev.yml", "庚辛壬"), ("data/nlu/x.yml", "子丑寅"),
                      ("scripts/corpus/pending/y.yml", "卯辰巳"), ("tests/nlu/other.yml", "午未申"),
                      (rounds.ROUND_FILES[4], "酉戌亥"), (rounds.ROUND_FILES[5], "天地玄")]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(nlu.format(text), "utf-8")


def test_each_round_guards_earlier_rounds_but_not_its_own_or_later_ones(tmp_path):
    _project(tmp_path)
    base = ["甲乙丙", "丁戊己", "庚辛壬", "子丑寅"]
    assert r5.ROUND.guarded_norms(tmp_path) == sorted(base + ["卯辰巳", "酉戌亥"])
    assert rounds.guarded_norms(tmp_path, round_no=4) == sorted(base + ["卯辰巳"])
    assert rounds.guarded_norms(tmp_path, round_no=3, pending=False) == sorted(base)  # as round 3 ran


def test_accepted_file_matches_the_committed_decisions():
    decisions = json.loads(DECISIONS.read_text("utf-8"))
    kept = Counter(apply_review.CODES[code] for code in decisions.values() if code != "D")
    accepted = Counter(e["intent"] for e in read_examples(ACCEPTED))
    assert accepted == kept
    assert all(key.startswith("osc10-") for key in decisions)


def test_accepted_file_has_no_near_duplicate_in_the_evaluation_files():
    guard = sorted({rounds.normalise(e["text"]) for rel in rounds.GUARDED if (ROOT / rel).exists()
                    for e in read_examples(ROOT / rel)} - {""})
    texts = [rounds.normalise(e["text"]) for e in read_examples(ACCEPTED)]
    near = sum(1 for norm in texts if rounds.is_near(norm, guard))
    assert texts and near == 0, f"{near} of {len(texts)} round-5 texts are near an evaluation text"
