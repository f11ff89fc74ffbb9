"""EscalationEngine: decides after a customer turn whether a person takes over.

The rules file and the lexicons are re-read when their modification times change, so
operators tune escalation without a restart. An invalid edit is logged and the last
valid rules stay in force (the bot must not stop answering because of a typo).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Iterable, Optional

from kefu.escalation.context import SEVERITY_LEVELS, Decision, TurnContext
from kefu.escalation.lexicon import Lexicons
from kefu.escalation.rules import Facts, RuleSet, load_rules

log = logging.getLogger(__name__)


class EscalationEngine:
    def __init__(self, path: Path, lexicon_dir: Path, groups: Iterable[str]) -> None:
        self.path = Path(path)
        self.lexicon_dir = Path(lexicon_dir)
        self.groups = set(groups)
        self.last_error: Optional[str] = None
        self._lock = threading.Lock()
        self._signature = self._current_signature()
        self.lexicons = Lexicons(self.lexicon_dir)
        self.rules: RuleSet = load_rules(self.path, self.groups, self.lexicons.names())

    @classmethod
    def from_file(
        cls,
        path: Path | str,
        *,
        lexicon_dir: Path | str | None = None,
        groups: Iterable[str] | None = None,
    ) -> "EscalationEngine":
        """Load and validate; lexicons default to ``lexicons/`` beside the rules file and
        groups to those of config/desk.yml."""
        path = Path(path)
        if groups is None:
            from kefu.escalation.desk_config import desk_config

            groups = desk_config().groups
        return cls(path, Path(lexicon_dir) if lexicon_dir else path.parent / "lexicons", groups)

    # --- reloading -----------------------------------------------------------

    def _current_signature(self) -> tuple[Any, ...]:
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError:
            mtime = None
        return (mtime, Lexicons.signature(self.lexicon_dir))

    def reload_if_changed(self) -> bool:
        """Re-read rules and lexicons if a file changed; True if new rules are in force."""
        signature = self._current_signature()
        if signature == self._signature:
            return False
        with self._lock:
            if signature == self._signature:
                return False
            self._signature = signature  # a broken edit is reported once, not every turn
            try:
                lexicons = Lexicons(self.lexicon_dir)
                rules = load_rules(self.path, self.groups, lexicons.names())
            except Exception as exc:  # keep serving with the last valid rules
                self.last_error = str(exc)
                log.error("escalation rules not reloaded, keeping the previous ones: %s", exc)
                return False
            self.lexicons, self.rules, self.last_error = lexicons, rules, None
            log.info("escalation rules reloaded from %s", self.path)
            return True

    # --- evaluation ----------------------------------------------------------

    def severity(self, text: str) -> tuple[str, list[str]]:
        """Complaint severity of one message: (level, matched terms, strongest first)."""
        self.reload_if_changed()
        return self._severity(self.lexicons.match(text), self.rules)

    @staticmethod
    def _severity(found: dict[str, list[str]], rules: RuleSet) -> tuple[str, list[str]]:
        by_level: dict[str, list[str]] = {}
        for name, level in rules.severity_lexicons.items():
            for term in found.get(name, []):
                if term not in by_level.setdefault(level, []):
                    by_level[level].append(term)
        present = [level for level in SEVERITY_LEVELS if by_level.get(level)]
        if not present:
            return "none", []
        top = present[-1]
        rank = SEVERITY_LEVELS.index(top)
        after = rules.severity_escalate_after
        if after and len(by_level[top]) >= after and rank + 1 < len(SEVERITY_LEVELS):
            rank += 1
        terms = [term for level in reversed(present) for term in by_level[level]]
        return SEVERITY_LEVELS[rank], terms

    def mentions(self, text: str, lexicon: str) -> list[str]:
        """Terms of one lexicon in ``text`` (e.g. ``human_request`` to count 人工)."""
        self.reload_if_changed()
        return self.lexicons.match(text).get(lexicon, [])

    def evaluate(self, ctx: TurnContext) -> Optional[Decision]:
        """The first rule that holds for this turn, or None to let the bot go on."""
        self.reload_if_changed()
        rules, lexicons = self.rules, self.lexicons  # one consistent snapshot
        cache: dict[str, Any] = {}

        def found() -> dict[str, list[str]]:
            if "found" not in cache:
                cache["found"] = lexicons.match(ctx.text)
            return cache["found"]

        def severity() -> tuple[str, list[str]]:
            if "severity" not in cache:
                cache["severity"] = self._severity(found(), rules)
            return cache["severity"]

        def get(field: str) -> Any:
            if field == "severity":
                return severity()[0]
            if field.startswith("slots."):
                return (ctx.slots or {}).get(field[len("slots."):])
            return getattr(ctx, field)

        facts = Facts(
            get=get,
            lexicon_terms=lambda names: [t for n in names for t in found().get(n, [])],
            severity_terms=lambda: severity()[1],
        )
        for rule in rules.rules:
            terms: list[str] = []
            if rule.when.test(facts, terms):
                return Decision(
                    rule.id, rule.group, rule.priority, rule.reason, tuple(dict.fromkeys(terms))
                )
        return None
