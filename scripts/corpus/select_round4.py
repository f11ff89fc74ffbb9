"""Round 4 of the corpus selection: NEW rows for the weak spots named in issue 10.

    python scripts/corpus/select_round4.py online_shopping_10_cats.csv round1.jsonl round3.jsonl > round4.jsonl

round1.jsonl and round3.jsonl are the outputs of select_reviews.py and select_round3.py on
the same CSV (both deterministic): their rows are not selected again. Same pick() rule as
select_reviews.py (a verbatim excerpt, no word changed, added or reordered), texts of at most
MAX_LEN characters, only the appliance-like categories (热水器, 计算机, 平板, 手机): a service
remark about a book, fruit, shampoo, milk, clothes or a hotel is deleted in review anyway
(tests/nlu/README.md), and phones, tablets and computers are the "products outside the
catalogue" whose faults are still report_repair.

Pools, in this order (a text goes to the first pool it matches), each a seeded sample:
- typo:     a return or exchange written with a typo (反货, 退或, 推款, 换或 ...): the CSV's appliance
            rows hold one;
- change:   address or delivery-date changes (改地址, 送货时间, 预约, 推迟 ...);
- query:    order / delivery / repair status wording (显示签收, 交易完成, 物流信息, 进度, 不更新 ...);
- chaser:   negative reviews chasing something without 催 (还没到, 迟迟没回, 到现在还没处理,
            什么时候能, 等了 ...): urge_ticket, query_order or query_ticket wording;
- repair:   repair wording (修, 返修, 送修, 保修, 售后): plain repair requests;
- delivery: negative reviews about delivery (快递, 物流, 发货, 到货, 签收 ...): delivery complaints;
- symptom:  negative reviews describing a fault WITHOUT a fault keyword (no word of
            FAULT_WORDS, which holds round 3's fault keywords and every fault name and variant
            of config/catalogue.yml): 没声音, 信号差, 充不满, 屏幕有亮点, 按键不灵, 发烫 ...;
- fault:    negative phone / tablet / computer reviews with a fault keyword: faults of products
            outside the catalogue.
Sampling is stable: within a pool, rows are taken in the order of sha1(SEED:row), so changing
one pool's rule or quota does not reshuffle the others.

Guard (counts only are printed, to stderr; no held-out text is ever shown): a candidate is
dropped when its normalised text (kefu.training.project.normalise) has a near-duplicate
(normalised Levenshtein similarity >= SIMILAR) in the real-customer test split, the fresh
holdout, the development sets, any NLU file under data/ except this round's own output
(data/nlu/real_customers_round4.yml, so that a re-run reproduces the selection), the labelled
texts kept out of training (scripts/corpus/pending/) or an earlier candidate of this round.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Optional

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rounds
from rounds import ROOT, normalise  # noqa: F401  (normalise: used by the tests)
from select_reviews import APPLIANCE

SEED = 20261207
MAX_LEN = 60
NON_CATALOGUE = {"计算机", "平板", "手机"}

TYPO = re.compile("反货|返货|退或|推货|推款|换或|腿货|退贷|退huo|tui货")
CHANGE = re.compile("改地址|换地址|地址|改时间|改期|改天|推迟|延期|预约|约好|约定|晚点送|送货时间|配送时间")
QUERY = re.compile("显示签收|已签收|显示已|确认收货|交易完成|订单完成|物流信息|查不到|进度|不更新|没有更新")
CHASER = re.compile("(还没|还未|一直没|迟迟|到现在|至今|怎么还|仍然没|依然没)有?"
                    "(到|收到|发(?!现)|送|回|处理|退|修|寄|给|人|消息|动静|联系|解决|来|上门|安排|审核|答复|结果|通知)|"
                    "几天了|多少天了|要多久|什么时候(能|可以|才|发|到|给|退|修|寄)|啥时候|何时|等了")
REPAIR = re.compile("修|售后")
DELIVERY = re.compile("快递|物流|送货|配送|发货|到货|签收|收货|派送|运输|送到|送来|快件")
SYMPTOM = re.compile("没声|没有声音|无声|声音小|不响|杂音|电流声|嗞|吱吱|嗡嗡|破音|信号差|信号不好|没信号|无信号|"
                     "无服务|连不上|上不了网|断网|充不了|充不满|不充电|充电慢|耗电快|掉电|没电|自己关|自己点|"
                     "屏幕.{0,6}(点不动|不灵|线|闪|变色|发黄|裂|碎|重影|不能点)|亮点|漏光|重影|不灵敏|卡死|卡机|"
                     "闪退|发热|发烫|烫手|很烫|松动|接触不良|时好时坏|时有时无|不稳定|插不进|不好使|不管用|点不动|"
                     "触屏.{0,4}(不|没)")
# Round 3's fault keywords plus generic ones; the catalogue's fault names and variants are added
# at run time (fault_words()).
FAULT = ("坏|故障|毛病|问题|开不了机|死机|黑屏|花屏|不加热|漏水|漏电|自动关机|失灵|不能用|用不了|没反应|充不进|"
         "不出热水|重启|蓝屏|不热|噪音|异响|发烫|掉线")
OWN_FILE = rounds.ROUND_FILES[4]  # this round's accepted texts: not guarded, so a re-run selects them again
QUOTAS = {"typo": 10, "change": 30, "query": 40, "chaser": 100, "repair": 50, "delivery": 40, "symptom": 70,
          "fault": 90}


def fault_words(catalogue: Path = ROOT / "config/catalogue.yml") -> re.Pattern:
    """FAULT plus every fault name and variant of the catalogue (what the NLU knows as a fault)."""
    faults = yaml.safe_load(catalogue.read_text("utf-8"))["faults"]
    words = [w for name, spec in faults.items() for w in [name, *spec.get("variants", [])]]
    return re.compile(FAULT + "|" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


def pool_of(text: str, cat: str, label: int, faults: re.Pattern) -> Optional[str]:
    """The round-4 pool a picked text of an appliance-like category belongs to, or None."""
    if TYPO.search(text):
        return "typo"
    if CHANGE.search(text):
        return "change"
    if QUERY.search(text):
        return "query"
    if "催" in text:
        return None
    if label == 0 and CHASER.search(text):
        return "chaser"
    if REPAIR.search(text):
        return "repair"
    if label != 0:  # the remaining pools are about something that went wrong
        return None
    return negative_pool(text, cat, faults)


def negative_pool(text: str, cat: str, faults: re.Pattern, symptom: re.Pattern = SYMPTOM) -> Optional[str]:
    """The delivery, symptom or fault pool of a negative review (rounds 4 and 5), or None: a
    delivery word; else a symptom with no fault word; else a fault word about a phone, tablet
    or computer."""
    if DELIVERY.search(text):
        return "delivery"
    has_fault = faults.search(text)
    if symptom.search(text) and not has_fault:
        return "symptom"
    if has_fault and cat in NON_CATALOGUE:
        return "fault"
    return None


ROUND = rounds.Round(4, MAX_LEN, APPLIANCE, QUOTAS, SEED, pool_of, fault_words)
guarded_norms = ROUND.guarded_norms
candidates = ROUND.candidates
select = ROUND.select
main = ROUND.main


if __name__ == "__main__":
    main(*sys.argv[1:])
