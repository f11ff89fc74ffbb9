"""Select customer texts from SophonPlus/ChineseNlpCorpus online_shopping_10_cats.

    python scripts/corpus/select_reviews.py online_shopping_10_cats.csv > candidates.jsonl

Deterministic (fixed seed). Rules (documented in tests/nlu/README.md):
- a review of <= MAX_LEN characters is kept whole, verbatim (surrounding blanks removed);
- a longer review is cut at sentence ends (。！？!?；; and line breaks) and the first
  sentence that carries a service need (keyword below) is kept verbatim, joined with the
  following sentence while the result stays <= MAX_LEN; reviews without such a
  sentence are dropped. No word is changed, added or reordered.
- appliance-like categories (热水器, 计算机, 平板, 手机): every review with a service keyword,
  plus a sample of the rest; other categories (书籍, 水果, 洗发水, 衣服, 酒店, 蒙牛): reviews with a
  delivery/return/service keyword plus a random sample (future out_of_scope / chitchat).
"""
from __future__ import annotations

import csv
import json
import random
import re
import sys

MAX_LEN = 60
SEED = 20261201
SERVICE = re.compile(
    "坏|故障|不工作|开不了机|开不开|死机|黑屏|花屏|蓝屏|重启|不加热|漏水|漏电|噪音|异响|声音大|不亮|失灵|坏点|"
    "不能用|用不了|不出热水|不热|发烫|充不进|充电|自动关机|掉线|维修|修|返厂|"
    "快递|物流|送货|发货|配送|到货|送到|送来|收到货|包装|"
    "安装|师傅|上门|装好|"
    "退货|换货|退款|退了|退换|换一台|换了|"
    "客服|售后|服务|态度|投诉|发票|保修|三包|质量问题|"
    "怎么|为什么|请问|吗[？?]")
SPLIT = re.compile(r"(?<=[。！？!?；;\n])")
APPLIANCE = {"热水器", "计算机", "平板", "手机"}
QUOTAS = {  # (with keyword, without keyword) per category
    "热水器": (10_000, 120), "计算机": (330, 50), "平板": (330, 50), "手机": (330, 50),
    "书籍": (60, 80), "水果": (120, 60), "洗发水": (100, 60), "衣服": (100, 60), "酒店": (60, 80), "蒙牛": (80, 60),
}


def pick(review: str):
    review = review.replace("\ufeff", "").strip()
    if not review:
        return None
    if len(review) <= MAX_LEN:
        return review
    parts = [p.strip() for p in SPLIT.split(review) if p.strip()]
    for i, part in enumerate(parts):
        if SERVICE.search(part) and len(part) <= MAX_LEN:
            text = part
            for nxt in parts[i + 1:]:
                if len(text) + len(nxt) > MAX_LEN:
                    break
                text += nxt
            return text
    return None


def main(path: str) -> None:
    rng = random.Random(SEED)
    rows = list(csv.DictReader(open(path, encoding="utf-8")))
    seen = set()
    by_cat = {}
    for i, row in enumerate(rows):
        text = pick(row["review"])
        if not text or len(re.sub(r"\W", "", text)) < 2:
            continue
        norm = re.sub(r"[\s\W_]+", "", text).lower()
        if norm in seen:
            continue
        seen.add(norm)
        key = bool(SERVICE.search(text))
        by_cat.setdefault(row["cat"], {True: [], False: []})[key].append(
            {"row": i, "cat": row["cat"], "label": int(row["label"]), "text": text})
    out = []
    for cat, (n_key, n_other) in QUOTAS.items():
        groups = by_cat.get(cat, {True: [], False: []})
        for flag, n in ((True, n_key), (False, n_other)):
            pool = groups[flag]
            rng.shuffle(pool)
            out += pool[:n]
    out.sort(key=lambda r: r["row"])
    for r in out:
        print(json.dumps(r, ensure_ascii=False))



# Round 2 (after the first review showed too few fault / return / delivery turns): every
# review not yet selected whose picked text (same pick() rule, <= 50 characters) has a strong
# fault, return or delivery keyword, in any category.
STRONG = re.compile("退货|换货|退款|退换|退了|坏了|开不了机|死机|黑屏|花屏|不加热|漏水|漏电|故障|返修|自动关机|"
                    "失灵|不能用|用不了|没反应|充不进|不出热水|没到|没收到|没发货|还没送|发错|少发|漏发")


def round2(path: str, taken: set) -> None:
    rows = list(csv.DictReader(open(path, encoding="utf-8")))
    seen = set(taken)
    for i, row in enumerate(rows):
        if i in taken:
            continue
        text = pick(row["review"])
        if not text or len(text) > 50 or not STRONG.search(text):
            continue
        norm = re.sub(r"[\s\W_]+", "", text).lower()
        if norm in seen:
            continue
        seen.add(norm)
        print(json.dumps({"row": i, "cat": row["cat"], "label": int(row["label"]), "text": text}, ensure_ascii=False))


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[2] == "--round2":  # round2 CSV --round2 first_round.jsonl
        first = {json.loads(line)["row"] for line in open(sys.argv[3], encoding="utf-8") if line.strip()}
        round2(sys.argv[1], first)
    else:
        main(sys.argv[1])
