"""Writing NLU examples in Rasa's YAML format (read back with Rasa's own reader).

Rasa's RasaYAMLWriter escapes Chinese entity values as \\uXXXX and keeps insertion
order; these helpers write the same format with readable values and a stable order,
so that files under data/ give small, reviewable diffs.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

HEADER_VERSION = 'version: "3.1"'


def clean_text(text: str) -> str:
    """One line, no surrounding blanks (a training example is one message)."""
    return "".join(" " if c.isspace() else c for c in (text or "")).strip()


def annotate(text: str, entities: Sequence[Mapping[str, Any]] = ()) -> str:
    """``text`` with entities in Rasa's inline syntax: [明天下午](time), [冷气机]{"entity": …}.

    Line breaks become spaces and surrounding blanks go (offsets follow); overlapping
    entities keep the first one (by start offset).
    """
    one_line = "".join(" " if c.isspace() else c for c in (text or ""))
    lead = len(one_line) - len(one_line.lstrip())
    text = one_line.strip()
    out: List[str] = []
    cursor = 0
    for entity in sorted((e for e in entities if "start" in e and "end" in e), key=lambda e: (e["start"], -e["end"])):
        start, end = int(entity["start"]) - lead, min(int(entity["end"]) - lead, len(text))
        if start < cursor or not 0 <= start < end <= len(text):
            continue
        span = text[start:end]
        out.append(text[cursor:start])
        value = entity.get("value")
        extra = {k: entity[k] for k in ("role", "group") if entity.get(k)}
        if (value is None or str(value) == span) and not extra:
            out.append(f"[{span}]({entity['entity']})")
        else:
            spec: Dict[str, Any] = {"entity": entity["entity"]}
            if value is not None and str(value) != span:
                spec["value"] = value
            spec.update(extra)
            out.append(f"[{span}]{json.dumps(spec, ensure_ascii=False)}")
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def render_training_file(examples: Iterable[Mapping[str, Any]], header: str = "") -> str:
    """A training-data file: one block per intent (sorted), examples sorted, literal style.

    ``examples``: dicts with ``text``, ``intent`` (full: faq/warranty_period) and
    optional ``entities``.
    """
    by_intent: Dict[str, Dict[str, str]] = {}
    for example in examples:
        line = annotate(example["text"], example.get("entities") or ())
        by_intent.setdefault(example["intent"], {})[line] = line
    lines: List[str] = [header.rstrip("\n")] if header else []
    lines += [HEADER_VERSION, "", "nlu:"]
    for intent in sorted(by_intent):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {line}" for line in sorted(by_intent[intent])]
    if not by_intent:
        lines[-1] = "nlu: []"
    return "\n".join(lines) + "\n"


def render_review_file(rows: Iterable[Mapping[str, Any]], header: str = "") -> str:
    """A review file: one block per message in the given order, metadata per example.

    Loadable by Rasa (``rasa.shared.nlu.training_data.loading.load_data``) and by
    ``./kefu.sh accept``. Scalars are JSON (a subset of YAML), so any text is safe.
    """
    lines: List[str] = [header.rstrip("\n")] if header else []
    lines += [HEADER_VERSION, "", "nlu:"]
    count = 0
    for row in rows:
        count += 1
        text = annotate(row["text"], row.get("entities") or ())
        lines.append(f"- intent: {row['intent']}")
        lines.append("  examples:")
        lines.append(f"  - text: {json.dumps(text, ensure_ascii=False)}")
        metadata = row.get("metadata")
        if metadata:
            lines.append(f"    metadata: {json.dumps(metadata, ensure_ascii=False, sort_keys=False)}")
    if not count:
        lines[-1] = "nlu: []"
    return "\n".join(lines) + "\n"


def read_examples(path) -> List[Dict[str, Any]]:
    """Examples of an NLU file via Rasa's reader: text, full intent, entities, metadata."""
    from rasa.shared.nlu.training_data.loading import load_data

    out = []
    for message in load_data(str(path)).training_examples:
        if not message.get("intent") or not message.get("text"):
            continue
        metadata: Optional[dict] = (message.get("metadata") or {}).get("example")
        out.append({
            "text": message.get("text"),
            "intent": message.get_full_intent(),
            "entities": [dict(e) for e in message.get("entities") or []],
            "metadata": metadata or {},
        })
    return out
