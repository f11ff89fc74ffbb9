"""Generate reproducible customer conversations from the paraphrase pools (pools.yml).

A conversation is a plan: a scenario, an opener, one answer per form question, and
what happens around the answers (courtesy turns, a correction, a digression, noise,
abandonment). The runner (runner.py) plays the plan reactively: it answers whatever
question the bot asks with the plan's answer for it. The same seed gives the same plans.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

POOLS_FILE = Path(__file__).with_name("pools.yml")

# Scenario -> relative weight in a generated sample.
SCENARIOS = {"repair": 26, "installation": 12, "complaint": 12, "return": 12, "query_ticket": 10,
             "urge_ticket": 6, "cancel_ticket": 5, "faq": 10, "human": 4, "courtesy_only": 3}
FORMS = {"repair": "repair", "installation": "installation", "complaint": "complaint", "return": "return"}
LOOKUPS = ("query_ticket", "urge_ticket", "cancel_ticket")


def load_pools(path: Path = POOLS_FILE) -> Dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@dataclass
class Interjection:
    """Something said before answering form question number ``before_step``."""

    kind: str  # courtesy | correction | digression_faq | digression_ticket | noise | typo_note
    text: str
    before_step: int


@dataclass
class Plan:
    seed: int
    index: int
    scenario: str
    opener: str
    answers: Dict[str, str]
    interjections: List[Interjection] = field(default_factory=list)
    abandon_at: Optional[int] = None  # form step at which the customer walks away
    abandon_text: str = ""
    tail: List[Tuple[str, str]] = field(default_factory=list)  # (kind, text) after the flow: courtesy, or a 转人工
    lookup_pick: int = 0  # which prepared ticket a lookup conversation asks about
    product: str = ""
    correction_product: str = ""

    @property
    def sender(self) -> str:
        return f"sim-{self.seed}-{self.index:05d}"


def _typo(text: str, pools: Dict, rng: random.Random) -> str:
    hits = [k for k in pools["typos"] if k in text]
    if not hits:
        return text
    key = rng.choice(hits)
    return text.replace(key, pools["typos"][key], 1)


def _noise(pools: Dict, rng: random.Random) -> str:
    kind = rng.choice(["empty", "emoji", "long"])
    if kind == "long":
        noise = pools["noise"]
        return noise["long_unit"] * noise["long_repeat"]
    return rng.choice(pools["noise"][kind])


def generate(seed: int, count: int, pools: Optional[Dict] = None) -> List[Plan]:
    """``count`` conversation plans; the same (seed, count) always gives the same list."""
    pools = pools or load_pools()
    rng = random.Random(seed)
    names, weights = zip(*SCENARIOS.items())
    plans = []
    for index in range(count):
        scenario = rng.choices(names, weights)[0]
        plans.append(_plan(seed, index, scenario, pools, rng))
    return plans


def _plan(seed: int, index: int, scenario: str, pools: Dict, rng: random.Random) -> Plan:
    product = rng.choice(pools["products"])
    answers = {slot: rng.choice(options) for slot, options in pools["answers"].items()}
    answers["product"] = product
    if scenario == "courtesy_only":
        opener = rng.choice(pools["courtesy"])
    else:
        opener = rng.choice(pools["openers"][scenario]).format(product=product)
    if rng.random() < 0.12:
        opener = _typo(opener, pools, rng)
    plan = Plan(seed=seed, index=index, scenario=scenario, opener=opener, answers=answers, product=product,
                lookup_pick=rng.randrange(1000))
    if scenario in FORMS:
        steps = 6
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            plan.interjections.append(Interjection("courtesy", rng.choice(pools["courtesy"][:13]), rng.randrange(1, steps)))
        if rng.random() < 0.15:
            plan.interjections.append(Interjection("noise", _noise(pools, rng), rng.randrange(1, steps)))
        if rng.random() < 0.12:
            plan.interjections.append(Interjection("digression_faq", rng.choice(pools["digressions"]["faq"]), rng.randrange(1, steps)))
        if scenario in ("repair", "installation") and rng.random() < 0.15:
            other = rng.choice([p for p in pools["products"] if p != product])
            plan.correction_product = other
            plan.interjections.append(Interjection("correction", rng.choice(pools["corrections"]).format(product=other), 1))
        if rng.random() < 0.1:
            plan.abandon_at = rng.randrange(1, 4)
            plan.abandon_text = rng.choice(pools["abandon"])
    plan.tail = [("courtesy", rng.choice(pools["courtesy"])) for _ in range(rng.choice([0, 1, 2, 2, 3]))]
    if scenario in FORMS and rng.random() < 0.08:  # asks for a person once the ticket is there
        plan.tail.insert(rng.randrange(len(plan.tail) + 1), ("human", rng.choice(pools["openers"]["human"])))
    return plan
