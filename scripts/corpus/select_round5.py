"""Round 5 of the corpus selection: NEW rows for the weak intents of issue 10, section 2
(report_repair in plain words, query_order delivery dates, urge_ticket / query_ticket chasers,
complain about delivery).

    python scripts/corpus/select_reviews.py osc10.csv > round1.jsonl
    python scripts/corpus/select_round3.py osc10.csv round1.jsonl > round3.jsonl
    python scripts/corpus/select_round4.py osc10.csv round1.jsonl round3.jsonl > round4.jsonl
    python scripts/corpus/select_round5.py osc10.csv round1.jsonl round3.jsonl round4.jsonl > round5.jsonl

The rows of rounds 1, 3 and 4 are not taken again (rounds.taken_rows); same verbatim pick()
excerpt (no word changed, added or reordered), at most MAX_LEN characters, only the
appliance-like categories (热水器, 计算机, 平板, 手机), as in round 4. The guard is rounds.py's
(held-out, dev, data/ and pending/ texts, this round's own file left out; near-duplicates
within the round too); only counts are printed.

Pools, in this order (a text goes to the first pool it matches), each a stable seeded sample
(rounds.order_key):
- ticket:   negative reviews about something filed that gets no answer (审核, 受理, 没结果,
            没人联系, 没回复, 还没处理 ...) or a round-4 chaser (还没到, 迟迟, 等了 ...), no 催:
            urge_ticket / query_ticket / complain wording;
- when:     delivery-date questions (什么时候/多久/几天 + 发/到/送/收), not "用了几天才评价":
            query_order wording;
- repair:   repair wording (维修, 修理, 返修, 送修, 保修, 报修, 修好, 修不 ...): plain repair requests;
- heater:   negative water-heater reviews (the only catalogue appliance of the CSV);
- delivery: negative reviews about delivery (快递, 物流, 发货, 到货 ...): delivery complaints;
- symptom:  negative reviews describing a fault with no fault keyword (round 4's SYMPTOM plus
            sound / picture / heat / touch wording: 嗡嗡, 有声音没画面, 卡顿, 反应慢 ...);
- fault:    negative phone / tablet / computer reviews with a fault keyword (as round 4's pool):
            plain fault reports of products outside the catalogue.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rounds
from rounds import normalise  # noqa: F401  (used by the tests)
from select_reviews import APPLIANCE
from select_round4 import CHASER, SYMPTOM, fault_words, negative_pool

SEED = 20261208
MAX_LEN = 60
TICKET = re.compile("审核|受理|没结果|没有结果|没有下文|没下文|没人联系|没有人联系|没人管|没人处理|没人理|"
                    "没回复|没有回复|没人回|没有答复|没答复|回电|还没处理|还未处理|没有处理|处理中|申请了|提交了|"
                    "工单|进度|等通知|等消息")
WHEN = re.compile("(什么时候|啥时候|何时|几时|多久|多长时间|几天)(.{0,6})(发货|发|到货|到|送|收到|寄)")
NOT_WHEN = re.compile("用了(好)?几天|几天(才|后|再)?(来)?(评|追)")
REPAIR = re.compile("维修|修理|返修|送修|保修|报修|检修|修好|修不|去修|拿去修|能修|给修|要修|修一下|修过")
SYMPTOM5 = re.compile(SYMPTOM.pattern + "|嗡|滋滋|沙沙|噼啪|有声音没|没画面|没图像|画面|图像|卡顿|很卡|好卡|太卡|"
                      "反应慢|反应迟钝|不跟手|乱跳|跳屏|自动(关|开|退|跳)|一会(儿)?就|关不了|关不掉|"
                      "拔掉|插上|接口|按键|按钮|摄像头|喇叭|耳机|wifi|WiFi|WIFI|蓝牙|温度|水温|热得慢|烧")
QUOTAS = {"ticket": 45, "when": 30, "repair": 120, "heater": 40, "delivery": 80, "symptom": 140, "fault": 60}


def pool_of(text: str, cat: str, label: int, faults: re.Pattern) -> Optional[str]:
    """The round-5 pool a picked text of an appliance-like category belongs to, or None."""
    if "催" in text:
        return None
    if label == 0 and (TICKET.search(text) or CHASER.search(text)):
        return "ticket"
    if WHEN.search(text) and not NOT_WHEN.search(text):
        return "when"
    if REPAIR.search(text):
        return "repair"
    if label != 0:  # the remaining pools are about something that went wrong
        return None
    if cat == "热水器":
        return "heater"
    return negative_pool(text, cat, faults, SYMPTOM5)


ROUND = rounds.Round(5, MAX_LEN, APPLIANCE, QUOTAS, SEED, pool_of, fault_words)


if __name__ == "__main__":
    ROUND.main(*sys.argv[1:])
