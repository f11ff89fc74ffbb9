"""Export real conversations for review.

    ./kefu.sh export [--since 2026-11-01] [--until 2026-11-22] [--days 7]
                     [--low-confidence] [--fallback] [--escalated] [--failed-form] [--low-satisfaction]
                     [--threshold 0.6] [--max-score 2] [--limit 500] [--flagged-only]
                     [--tracker-store URL] [--out DIR] [--no-mask]

Reads Rasa's SQL tracker store (default: the one `./kefu.sh run` uses) and writes to
``--out`` (default ``var/review/export-<time>/``, git-ignored):

- ``nlu.yml``        every customer message with its predicted intent, confidence, entities
                     and flags, lowest confidence first, in Rasa's NLU YAML format (one
                     block per message, metadata per example). Fix the intents in place,
                     delete what should not be learnt, then ``./kefu.sh accept <file>``.
- ``stories.yml``    the conversations in Rasa's test-story format (copy good ones into
                     tests/test_stories.yml after correcting them).
- ``messages.json``  the same messages for scripts.

With flag options, only conversations with any of those flags are exported; without,
all conversations in the date range. Personal data is masked unless ``--no-mask``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from kefu import clock, settings
from kefu.training import conversations as conv
from kefu.training.nluyaml import render_review_file


@dataclass
class ExportResult:
    out: Path
    conversations: int
    messages: int
    flagged_messages: int
    by_flag: dict


def _tz():
    try:
        return settings.service_config().tz
    except Exception:
        return dt.timezone.utc


def parse_day(value: str) -> dt.datetime:
    """A local calendar day (YYYY-MM-DD) -> its midnight in the service time zone."""
    day = dt.date.fromisoformat(value)
    return dt.datetime.combine(day, dt.time(0), tzinfo=_tz())


def date_range(since: Optional[str], until: Optional[str], days: Optional[int],
               now: Optional[dt.datetime] = None) -> tuple:
    """[since, until): ``until`` is inclusive as a day; ``days`` counts back from now."""
    now = now or clock.local_now(_tz())
    start = parse_day(since) if since else None
    end = parse_day(until) + dt.timedelta(days=1) if until else None
    if start is None and days:
        start = (end or now) - dt.timedelta(days=days)
    return start, end


def export(store, filters: conv.Filters, out: Path, mask: bool = True, flagged_only: bool = False) -> ExportResult:
    conversations = conv.load_conversations(store, filters, mask=mask)
    messages = conv.review_messages(conversations, only_flagged=flagged_only)
    out.mkdir(parents=True, exist_ok=True)
    header = (
        f"# Kefu review export {clock.local_now(_tz()):%Y-%m-%d %H:%M}"
        f" — {len(conversations)} conversations, {len(messages)} distinct messages, lowest confidence first.\n"
        f"# Personal data {'MASKED' if mask else 'NOT MASKED (--no-mask): do not share this file'}.\n"
        "# Each block: the intent the model predicted. Correct wrong intents, delete examples that\n"
        "# should not be learnt, then: ./kefu.sh accept <this file>   (holdout texts are refused).\n"
    )
    rows = [{
        "text": m.text,
        "intent": m.intent,
        "entities": m.entities,
        "metadata": {
            "id": m.id,
            "confidence": round(m.confidence, 4),
            "flags": m.flags,
            "ranking": m.ranking[:3],
            "count": m.count,
            "conversations": m.conversations[:5],
            "time": conv.local_time(m.timestamp),
        },
    } for m in messages]
    (out / "nlu.yml").write_text(render_review_file(rows, header), encoding="utf-8")
    (out / "stories.yml").write_text(
        "# Conversations in Rasa's test-story format (story name: conversation id [flags]).\n"
        + conv.test_story_yaml(conversations), encoding="utf-8")
    (out / "messages.json").write_text(
        json.dumps([m.as_dict() for m in messages], ensure_ascii=False, indent=1), encoding="utf-8")
    by_flag = {flag: sum(1 for c in conversations if flag in c.flags) for flag in conv.FLAGS}
    return ExportResult(out, len(conversations), len(messages), sum(1 for m in messages if m.flags), by_flag)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kefu export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--since", help="first day (YYYY-MM-DD, service time zone)")
    parser.add_argument("--until", help="last day, inclusive (YYYY-MM-DD)")
    parser.add_argument("--days", type=int, default=None, help="the last N days (default 7 unless --since)")
    for flag in conv.FLAGS:
        parser.add_argument("--" + flag.replace("_", "-"), dest=flag, action="store_true",
                            help=f"conversations with {conv.FLAG_LABELS[flag]}")
    parser.add_argument("--threshold", type=float, default=0.6, help="low confidence: below this (default 0.6)")
    parser.add_argument("--max-score", type=int, default=2, help="low satisfaction: score <= this (default 2)")
    parser.add_argument("--limit", type=int, default=None, help="at most N conversations (most recent first)")
    parser.add_argument("--flagged-only", action="store_true", help="only messages that carry a flag themselves")
    parser.add_argument("--tracker-store", default=None,
                        help="SQLAlchemy URL of the tracker DB (default: Kefu's, see kefu/runtime/endpoints.py)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--no-mask", action="store_true", help="keep personal data (never share the result)")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv or [])
    days = args.days if args.days is not None else (None if args.since else 7)
    since, until = date_range(args.since, args.until, days)
    flags = frozenset(f for f in conv.FLAGS if getattr(args, f))
    filters = conv.Filters(since=since, until=until, flags=flags, confidence_threshold=args.threshold,
                           max_satisfaction=args.max_score, limit=args.limit)
    out = args.out or settings.var_dir() / "review" / f"export-{clock.local_now(_tz()):%Y%m%d-%H%M%S}"
    store = conv.open_store(args.tracker_store)
    result = export(store, filters, out, mask=not args.no_mask, flagged_only=args.flagged_only)
    period = f"{since:%Y-%m-%d %H:%M}" if since else "beginning"
    print(f"exported {result.conversations} conversations ({period} – {f'{until:%Y-%m-%d %H:%M}' if until else 'now'}"
          f"{', flags: ' + ', '.join(sorted(flags)) if flags else ''}); {result.messages} distinct messages,"
          f" {result.flagged_messages} flagged")
    for flag, count in result.by_flag.items():
        print(f"  {flag:<17} {count} conversations")
    print(f"review files: {out / 'nlu.yml'}  {out / 'stories.yml'}  {out / 'messages.json'}")
    if args.no_mask:
        print("WARNING: personal data NOT masked (--no-mask)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
