"""config/dialogue.yml: per-turn limits and which "/" payloads a channel accepts."""
from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional

from pydantic import conint, validator

from kefu import settings
from kefu.settings import _Strict

FULLWIDTH_SLASH = "／"
_PAYLOAD = re.compile(r"^/([A-Za-z_][A-Za-z0-9_]*)(?:\{.*\})?(?:@[0-9.]+)?$", re.DOTALL)


class FormSwitch(_Strict):
    """config/dialogue.yml form_switches: where an interrupting request leads."""

    to: str
    op: Optional[str] = None
    only_from: List[str] = []  # empty: from every other form


class DialogueConfig(_Strict):
    max_bot_messages_per_turn: conint(ge=1, le=10)
    button_intents: List[str]
    courtesy_phrases: List[str]
    closing_phrases: List[str]
    thanks_phrases: List[str]
    ticket_switch_words: List[str] = []
    form_switches: Dict[str, FormSwitch] = {}

    def switch_for(self, intent: str, form: Optional[str]) -> Optional[FormSwitch]:
        """The switch an ``intent`` typed inside ``form`` makes, if any (never into ``form`` itself)."""
        switch = self.form_switches.get(intent)
        if switch is None or switch.to == form or (switch.only_from and form not in switch.only_from):
            return None
        return switch

    @validator("button_intents")
    def _no_internal_intents(cls, value):
        bad = [v for v in value if v.startswith("EXTERNAL_") or v in ("restart", "session_start", "back", "nlu_fallback")]
        if bad:
            raise ValueError(f"not accepted from a customer: {', '.join(bad)}")
        return value


_PARTICLES = re.compile(r"[啊呀哦噢呢吧啦嘛哈了的滴哒~～\s\W_]+")


def is_courtesy(text: str, config: Optional[DialogueConfig] = None) -> bool:
    """Whether ``text`` (normalised) is only courtesy/acknowledgement, with no request in it."""
    config = config or dialogue_config()
    rest = text.lower()
    for phrase in sorted(config.courtesy_phrases, key=len, reverse=True):
        rest = rest.replace(phrase.lower(), " ")
    return not _PARTICLES.sub("", rest)


def courtesy_kind(text: str, config: Optional[DialogueConfig] = None) -> Optional[str]:
    """"closing", "thanks" or "ack" for a courtesy-only message; None if it carries a request."""
    config = config or dialogue_config()
    if not is_courtesy(text, config):
        return None
    lowered = text.lower()
    if any(p.lower() in lowered for p in config.closing_phrases):
        return "closing"
    if any(p.lower() in lowered for p in config.thanks_phrases):
        return "thanks"
    return "ack"


dialogue_config = settings.ConfigFile("dialogue.yml", DialogueConfig)  # config/dialogue.yml, validated, cached
load_dialogue_config = dialogue_config.load


def customer_text(text: str, metadata: Optional[Dict[str, Any]] = None, config: Optional[DialogueConfig] = None) -> str:
    """What a channel hands to Rasa for a customer's message.

    Rasa reads a message starting with "/" as an intent (and `/restart`, `/EXTERNAL_…`
    as commands). A customer's typed text never is: its leading "/" becomes a
    full-width "／", which the NLU reads as ordinary text. Only a quick-reply click
    (the widget sends the button title as ``display_text``) whose payload names one of
    ``button_intents`` passes unchanged.
    """
    if not text.startswith("/"):
        return text
    config = config or dialogue_config()
    match = _PAYLOAD.match(text.strip())
    clicked = isinstance(metadata, dict) and bool(metadata.get("display_text"))
    if clicked and match and match.group(1) in config.button_intents:
        payload = text.strip()[len(match.group(1)) + 1:]
        if not payload or _valid_entities(payload.split("@")[0]):
            return text
    return FULLWIDTH_SLASH + text[1:]


def _valid_entities(payload: str) -> bool:
    if not payload:
        return True
    try:
        return isinstance(json.loads(payload), dict)
    except ValueError:
        return False
