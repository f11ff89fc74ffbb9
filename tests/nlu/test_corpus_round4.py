"""Round-4 corpus tools: selection (scripts/corpus/select_round4.py: pools, leak guard,
reproducibility) and the review decisions (apply_review.py).

Synthetic rows only; the guard is tested on a temporary project, so no held-out text is read here.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "corpus"))
import select_round4 as r4  # noqa: E402


@pytest.fixture(scope="module")
def faults():
    return r4.fault_words()


@pytest.mark.parametrize("text, cat, label, pool", [
    ("我能反货重买不", "平板", 0, "typo"),
    ("快递地址写错了，能改地址吗", "平板", 0, "change"),
    ("东西没拿到手上，就显示签收了", "平板", 0, "query"),
    ("返修了快2个月，还没收到货", "平板", 0, "chaser"),
    ("什么时候能给个结果呢", "计算机", 0, "chaser"),
    ("屏幕碎了，不知道保修不", "平板", 1, "repair"),
    ("物流太慢，好几天才到", "平板", 0, "delivery"),
    ("才买了一月，现在接电话就没声音了", "平板", 0, "symptom"),
    ("用了不到一周就开不了机", "手机", 0, "fault"),
])
def test_each_weak_spot_has_its_pool(text, cat, label, pool, faults):
    assert r4.pool_of(text, cat, label, faults) == pool


def test_texts_outside_the_weak_spots_are_not_selected(faults):
    assert r4.pool_of("外观很漂亮，运行很流畅", "平板", 1, faults) is None  # praise
    assert r4.pool_of("还没用，用了再来评价", "平板", 0, faults) is None  # 还没用 is no chaser
    assert r4.pool_of("退款申请了还没到账，快点处理，催了三次", "平板", 0, faults) is None  # has 催
    # a catalogue fault word (异响) is a fault keyword: not a "symptom without keyword",
    # and a water heater is in the catalogue, so not a non-catalogue fault either
    assert r4.pool_of("热水器用了一个月有异响", "热水器", 0, faults) is None
    assert r4.pool_of("通话时有电流声", "手机", 0, faults) == "symptom"
    assert r4.pool_of("通话时有异响", "手机", 0, faults) == "fault"


def test_fault_words_include_the_catalogue_variants(faults):
    for word in ("嗡嗡响", "不出冷风", "甩不干", "坏了"):
        assert faults.search(word), word


def _rows():
    return [
        {"cat": "平板", "label": "0", "review": "才买了一月，现在接电话就没声音了"},  # 0 symptom
        {"cat": "平板", "label": "0", "review": "才买了一月，现在接电话就没声音了！"},  # 1 exact duplicate
        {"cat": "书籍", "label": "0", "review": "快递太慢了，书两周才到"},  # 2 not an appliance category
        {"cat": "平板", "label": "0", "review": "物流太慢，好几天才到，" + "非常失望" * 20},  # 3 too long, no cut
        {"cat": "手机", "label": "0", "review": "用了不到一周就开不了机"},  # 4 fault
        {"cat": "平板", "label": "0", "review": "物流太慢，好几天才到"},  # 5 delivery
        {"cat": "平板", "label": "0", "review": "物流太慢，好几天才到呢"},  # 6 near-duplicate of 5
    ]


def test_candidates_skip_taken_rows_duplicates_other_categories_and_long_texts():
    pools = r4.candidates(_rows(), taken={4})
    rows = {pool: [item["row"] for item in items] for pool, items in pools.items() if items}
    assert rows == {"symptom": [0], "delivery": [5, 6]}


def test_select_drops_guarded_texts_and_near_duplicates_within_the_round():
    pools = r4.candidates(_rows(), taken=())
    out, report, dropped = r4.select(pools, guard=[r4.normalise("用了不到一周就开不了机啊")])
    picked = {item["pool"]: [] for item in out}
    for item in out:
        picked[item["pool"]].append(item["row"])
    # row 4 is near a guarded text; rows 5 and 6 are near each other: one of them is kept
    assert picked["symptom"] == [0] and len(picked["delivery"]) == 1 and picked["delivery"][0] in (5, 6)
    assert list(picked) == ["delivery", "symptom"]  # sorted by pool, then row
    assert dropped == 2
    assert "fault: 1 eligible, 0 selected" in report


def test_selection_is_reproducible_and_stable_per_row():
    # 40 texts with no character in common (no near-duplicates among them)
    items = [{"row": i, "cat": "平板", "label": 0, "text": "".join(chr(0x4E00 + 10 * i + k) for k in range(10))}
             for i in range(40)]
    first, _, _ = r4.select({"symptom": items}, guard=[], quotas={"symptom": 10})
    again, _, _ = r4.select({"symptom": list(reversed(items))}, guard=[], quotas={"symptom": 10})
    assert first == again  # input order does not matter
    other_seed, _, _ = r4.select({"symptom": items}, guard=[], quotas={"symptom": 10}, seed=1)
    assert [i["row"] for i in other_seed] != [i["row"] for i in first]
    # adding rows to a pool keeps every earlier pick that still ranks inside the quota
    extra = dict(items[0], row=99, text="".join(chr(0x5E00 + k) for k in range(10)))
    more, _, _ = r4.select({"symptom": items + [extra]}, guard=[], quotas={"symptom": 10})
    assert len({i["row"] for i in first} & {i["row"] for i in more}) >= 9


def test_guard_reads_held_out_dev_data_and_pending_files(tmp_path):
    nlu = 'version: "3.1"\nnlu:\n- intent: complain\n  examples: |\n    - {}\n'
    for rel, text in [("tests/nlu/holdout.yml", "甲乙丙"), ("tests/nlu/real_customers_test.yml", "丁戊己"),
                      ("tests/nlu/dev.yml", "庚辛壬"), ("data/nlu/x.yml", "子丑寅"),
                      ("scripts/corpus/pending/y.yml", "卯辰巳"), ("tests/nlu/other.yml", "午未申"),
                      (r4.OWN_FILE, "酉戌亥")]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(nlu.format(text), "utf-8")
    assert r4.guarded_norms(tmp_path) == sorted(["甲乙丙", "丁戊己", "庚辛壬", "子丑寅", "卯辰巳"])


def test_review_decisions_by_position_or_by_example_id():
    import apply_review

    examples = [{"text": t, "intent": "faq/invoice", "entities": [], "metadata": {"id": f"osc10-{row}", "row": row}}
                for t, row in (("屏幕坏了", 7), ("很好用", 3), ("发票没给", 5))]
    by_id = apply_review.decide(examples, {"osc10-3": "D", "osc10-5": "Fi", "osc10-7": "R"})
    by_position = apply_review.decide(examples, {"0": "R", "1": "D", "2": "Fi"})
    assert by_id == by_position
    assert [(r["text"], r["intent"], r["metadata"]["predicted"]) for r in by_id] == [
        ("屏幕坏了", "report_repair", "faq/invoice"), ("发票没给", "faq/invoice", "faq/invoice")]
    with pytest.raises(SystemExit):  # every block needs a decision
        apply_review.decide(examples, {"osc10-3": "D", "osc10-7": "R"})
