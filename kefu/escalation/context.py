"""What the escalation check sees about one turn, and what it decides."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

# Complaint severity levels, lowest first; lexicons map to one of these.
SEVERITY_LEVELS: tuple[str, ...] = ("none", "low", "medium", "high")


@dataclass(frozen=True)
class TurnContext:
    """Facts about the latest customer turn, gathered by the caller (an action).

    Counters are per conversation: ``urge_count`` counts urges of the same ticket,
    ``form_stall_turns`` the turns in the active form without a newly filled slot.
    """

    intent: str | None = None
    confidence: float = 1.0
    text: str = ""
    slots: Mapping[str, Any] = field(default_factory=dict)
    active_form: str | None = None
    customer_tier: str | None = None
    repeat_complaint: bool = False
    ticket_overdue: bool = False
    urge_count: int = 0
    consecutive_fallbacks: int = 0
    form_stall_turns: int = 0
    human_request_count: int = 0
    emergency: bool = False


@dataclass(frozen=True)
class Decision:
    """Hand the conversation to ``group`` with ``priority``; ``reason`` is shown to the agent.

    ``terms`` are the lexicon words that made the rule fire (e.g. 12315, 漏电), so the
    agent sees at a glance what the customer said.
    """

    rule_id: str
    group: str
    priority: str
    reason: str
    terms: tuple[str, ...] = ()
