"""Model pre-label for corpus candidates (step 1 of Kefu's pre-label -> review -> accept).

    python scripts/corpus/prelabel.py candidates.jsonl var/review/real-customers/nlu.yml [--model models/x.tar.gz]

Parses every candidate with the current model and writes a review file in the same
format as `./kefu.sh export` (kefu.training.nluyaml.render_review_file): one block per
message with the predicted intent, confidence and ranking as metadata.
"""
from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from kefu.training.nluyaml import render_review_file
from kefu.training.project import Project


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("candidates", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    from rasa.core.agent import Agent

    model = args.model or Project.default().latest_model()
    agent = Agent.load(str(model))
    rows = [json.loads(line) for line in args.candidates.read_text("utf-8").splitlines() if line.strip()]

    async def parse_all():
        return [await agent.parse_message(r["text"]) for r in rows]

    out = []
    for r, parsed in zip(rows, asyncio.run(parse_all())):
        intent = parsed["intent"]["name"]
        full = parsed.get("response_selector", {}).get("faq", {}).get("response", {}).get("intent_response_key")
        if intent == "faq" and full:
            intent = full
        out.append({"text": r["text"], "intent": intent, "entities": [],
                    "metadata": {"id": f"osc10-{r['row']}", "source": "online_shopping_10_cats", "row": r["row"],
                                 "cat": r["cat"], "sentiment": r["label"],
                                 "confidence": round(parsed["intent"]["confidence"], 4),
                                 "ranking": [[x["name"], round(x["confidence"], 3)] for x in parsed["intent_ranking"][:3]]}})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# Kefu pre-label of {len(out)} customer texts from online_shopping_10_cats with {Path(model).name}.\n"
              "# Review every intent (fix wrong ones, delete what should not be learnt), then accept.\n")
    args.out.write_text(render_review_file(out, header), encoding="utf-8")
    print(f"pre-labelled {len(out)} texts with {Path(model).name} -> {args.out}")


if __name__ == "__main__":
    main()
