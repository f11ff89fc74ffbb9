"""Round 3 of the corpus selection: NEW rows for the weak intents (issue 10, section 2).

    python scripts/corpus/select_round3.py online_shopping_10_cats.csv round1.jsonl > round3.jsonl

round1.jsonl is the output of select_reviews.py (same CSV, deterministic): its 2,502 rows
(all pre-labelled in round 1) are not selected again. Round-2 rows are not excluded by row
(only 351 of its 1,650 candidates were reviewed); the leak guard below keeps every text that
reached the test split or data/ out. Same pick() rule as select_reviews.py (a
verbatim excerpt, no word changed), texts of at most MAX_LEN characters.

Leak guard: a candidate is dropped when its normalised text (kefu.training.project.normalise)
has a near-duplicate (normalised Levenshtein similarity >= 0.85) in the real-customer test
split, the fresh holdout, the development sets or any NLU file under data/. Only counts are
printed (to stderr); no held-out text is ever shown.

Pools (seeded sample, SEED):
- return:    appliance-like categories, a return/exchange/refund keyword;
- service:   appliance-like categories, a complaint / delivery / staff keyword (complain vs
             report_repair vs query_order);
- fault:     appliance-like categories, a fault keyword, none of the above;
- offtopic:  books, fruit, shampoo, milk, clothes, hotels with no service keyword (content
             reviews: out_of_scope candidates).
"""
from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rounds import excerpts, guarded_norms, is_near, item, normalise, read_rows, taken_rows
from select_reviews import APPLIANCE, SERVICE

SEED = 20261206
MAX_LEN = 50
RETURN = re.compile("退货|换货|退款|退换|退了|要退|想退|退回|换一台|换个|换新|无理由|退钱|换机")
SERVICE3 = re.compile("客服|态度|投诉|售后|不理|骗|快递|物流|送货|发货|到货|没到|没收到|发错|少发|漏发|少了|赠品|"
                      "安装费|收费|师傅|上门|不给|推脱|推卸|等了|几天了|一周|没人|电话")
FAULT = re.compile("坏了|开不了机|死机|黑屏|花屏|不加热|漏水|漏电|故障|自动关机|失灵|不能用|用不了|没反应|充不进|"
                   "不出热水|重启|蓝屏|不热|噪音|异响|发烫|掉线")
QUOTAS = {"return": 220, "service": 230, "fault": 90, "offtopic": 160}


def main(csv_path: str, *taken_files: str) -> None:
    pools = {k: [] for k in QUOTAS}
    for i, row, text in excerpts(read_rows(csv_path), taken_rows(taken_files), MAX_LEN):
        entry = item(i, row, text)
        if row["cat"] in APPLIANCE:
            if RETURN.search(text):
                pools["return"].append(entry)
            elif SERVICE3.search(text):
                pools["service"].append(entry)
            elif FAULT.search(text):
                pools["fault"].append(entry)
        elif not SERVICE.search(text) and len(text) <= 40:
            pools["offtopic"].append(entry)
    # Round 3's guard: held-out, dev and data/ texts (pending/ did not exist yet), not later rounds' files
    guard = guarded_norms(round_no=3, pending=False)
    rng = random.Random(SEED)
    out, dropped = [], 0
    for name, quota in QUOTAS.items():
        pool = pools[name]
        rng.shuffle(pool)
        kept = []
        for entry in pool:
            if len(kept) >= quota:
                break
            if is_near(normalise(entry["text"]), guard):
                dropped += 1
                continue
            kept.append(dict(entry, pool=name))
        print(f"{name}: {len(pool)} eligible, {len(kept)} selected", file=sys.stderr)
        out += kept
    print(f"dropped as near-duplicates of held-out/dev/data texts: {dropped}", file=sys.stderr)
    out.sort(key=lambda r: (r["pool"], r["row"]))
    for r in out:
        print(json.dumps(r, ensure_ascii=False))


if __name__ == "__main__":
    main(*sys.argv[1:])
