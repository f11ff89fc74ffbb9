"""Escalation: rules that decide when a person takes over a conversation.

    engine = EscalationEngine.from_file("config/escalation_rules.yml")
    decision = engine.evaluate(TurnContext(intent="complain", text="我要打12315投诉你们"))
    # Decision(rule_id="complaint_severe", group="投诉专席", priority="高", reason=..., terms=("12315",))

Importing this package is cheap; spaCy (and with it TensorFlow, via thinc) is loaded
only when an engine is built.
"""

from __future__ import annotations

from functools import lru_cache

from kefu.escalation.context import SEVERITY_LEVELS, Decision, TurnContext
from kefu.escalation.engine import EscalationEngine
from kefu.escalation.rules import RulesError
from kefu.settings import config_dir

__all__ = [
    "Decision",
    "EscalationEngine",
    "RulesError",
    "SEVERITY_LEVELS",
    "TurnContext",
    "default_engine",
    "severity",
]


@lru_cache(maxsize=1)
def default_engine() -> EscalationEngine:
    """The engine for config/escalation_rules.yml (one per process; reloads itself)."""
    return EscalationEngine.from_file(config_dir() / "escalation_rules.yml")


def severity(text: str) -> tuple[str, list[str]]:
    """Complaint severity of ``text`` under the default rules: (level, matched terms)."""
    return default_engine().severity(text)
