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


class NameWords(_Strict):
    """config/dialogue.yml names: how customers give their name (kefu/nlp/names.py)."""

    surname_intros: List[str]
    name_intros: List[str]
    compound_surnames: List[str]
    name_tails: List[str] = []
    not_surnames: List[str] = []
    max_chars: conint(ge=2, le=30)  # type: ignore[valid-type]


class DialogueConfig(_Strict):
    max_bot_messages_per_turn: conint(ge=1, le=10)
    button_intents: List[str]
    courtesy_phrases: List[str]
    closing_phrases: List[str]
    thanks_phrases: List[str]
    greeting_phrases: List[str] = []
    courtesy_guard_intents: List[str] = []
    ticket_switch_words: List[str] = []
    return_switch_words: List[str] = []
    complaint_demand_words: List[str] = []
    complaint_still_waiting_words: List[str] = []
    complaint_more_detail_words: List[str] = []
    complaint_wish_words: List[str] = []
    complaint_addition_words: List[str] = []
    complaint_demand_added: str
    complaint_detail_added: str
    ticket_question_words: List[str] = []
    urge_words: List[str] = []
    chaser_words: List[str] = []
    repair_request_words: List[str] = []
    keep_ticket_words: List[str] = []
    stop_words: List[str] = []
    affirmation_phrases: List[str] = []
    no_typed_yes_intents: List[str] = []
    installed_words: List[str] = []
    repair_dropped_words: List[str] = []
    no_order_no_words: List[str] = []
    suggestion_intro_words: List[str] = []
    suggestion_words: List[str] = []
    not_a_suggestion_words: List[str] = []
    form_switches: Dict[str, FormSwitch] = {}
    asked_in_invalid_message: Dict[str, List[str]] = {}
    names: NameWords

    def switch_for(self, intent: str, form: Optional[str]) -> Optional[FormSwitch]:
        """The switch an ``intent`` typed inside ``form`` makes, if any (never into ``form`` itself)."""
        switch = self.form_switches.get(intent)
        if switch is None or switch.to == form or (switch.only_from and form not in switch.only_from):
            return None
        return switch

    def op_change_for(self, intent: str, form: Optional[str]) -> Optional[str]:
        """The ticket operation an ``intent`` typed inside its own look-up form changes to
        ("帮我催一下" while the form asks for the number of a ticket to look up), if any."""
        switch = self.form_switches.get(intent)
        return switch.op if switch is not None and switch.to == form and switch.op else None

    @validator("button_intents")
    def _no_internal_intents(cls, value):
        bad = [v for v in value if v.startswith("EXTERNAL_") or v in ("restart", "session_start", "back", "nlu_fallback")]
        if bad:
            raise ValueError(f"not accepted from a customer: {', '.join(bad)}")
        return value


_PARTICLES = re.compile(r"[啊呀哦噢呢吧啦嘛哈了的滴哒那~～\s\W_]+")


def is_courtesy(text: str, config: Optional[DialogueConfig] = None) -> bool:
    """Whether ``text`` (normalised) is only courtesy/acknowledgement, with no request in it."""
    config = config or dialogue_config()
    # a closing or a thanks is courtesy too ("好的 谢谢 没别的了"), whichever list names it
    return not _without_phrases(text, [*config.courtesy_phrases, *config.closing_phrases, *config.thanks_phrases,
                                       *config.greeting_phrases])


def says_only_it_has_a_suggestion(text: str, config: Optional[DialogueConfig] = None) -> bool:
    """"我有个建议" / "想给你们提点意见": the wish to suggest something, without the suggestion."""
    config = config or dialogue_config()
    return len(_without_phrases(text, [*config.suggestion_intro_words, *config.courtesy_phrases, *config.greeting_phrases])) < 2


def _without_phrases(text: str, phrases: List[str]) -> str:
    """``text`` (lower-cased) without ``phrases`` (longest first), particles and punctuation."""
    # one pass, leftmost match first ("谢谢啦" is 谢谢 + 啦, not 谢 + 谢啦), longest phrase at a position
    alternatives = "|".join(re.escape(p.lower()) for p in sorted(set(phrases), key=lambda p: (-len(p), p)) if p)
    rest = re.sub(alternatives, " ", text.lower()) if alternatives else text.lower()
    return _PARTICLES.sub("", rest)


def courtesy_kind(text: str, config: Optional[DialogueConfig] = None) -> Optional[str]:
    """"closing", "thanks", "greeting" or "ack" for a courtesy-only message; None if it carries a request."""
    config = config or dialogue_config()
    if not is_courtesy(text, config):
        return None
    lowered = text.lower()
    if any(p.lower() in lowered for p in config.closing_phrases):
        return "closing"
    if any(p.lower() in lowered for p in config.thanks_phrases):
        return "thanks"
    if any(p.lower() in lowered for p in config.greeting_phrases):
        return "greeting"
    return "ack"


dialogue_config = settings.ConfigFile("dialogue.yml", DialogueConfig)  # config/dialogue.yml, validated, cached
load_dialogue_config = dialogue_config.load


_CLAUSE_END = re.compile(r"[，,。.；;！!？?、\s]+")


def says_a_demand(text: str, config: Optional[DialogueConfig] = None) -> bool:
    """Whether ``text`` asks for something (诉求: an apology, compensation, a refund…)."""
    config = config or dialogue_config()
    return any(word in text for word in config.complaint_demand_words)


def demand_in_complaint(text: str, config: Optional[DialogueConfig] = None) -> Optional[str]:
    """The clauses of a complaint that ask for something ("…还多收了100块，我要求退钱并道歉"
    -> "我要求退钱并道歉"), or None. A clause about a demand still unmet ("退款半个月了还没到账")
    tells what happened, it asks nothing new."""
    config = config or dialogue_config()
    clauses = [c for c in _CLAUSE_END.split(text) if c]
    wishes = [c for c in clauses
              if says_a_demand(c, config) and not any(w in c for w in config.complaint_still_waiting_words)]
    return "，".join(wishes) or None


def tells_more_of_the_complaint(text: str, config: Optional[DialogueConfig] = None) -> bool:
    """Whether an answer to "您希望我们怎样处理？" goes on telling what happened ("而且他还把地板
    弄脏了", "空调装歪了 外机也没固定好") instead of saying what the customer wants: it asks
    for nothing and either starts like a continuation or tells of something done (了) without
    any wish ("重新装", "换个师傅", "算了")."""
    config = config or dialogue_config()
    stripped = text.strip()
    if says_a_demand(stripped, config):
        return False
    return continues_the_complaint(stripped, config) or ("了" in stripped and not any(w in stripped for w in config.complaint_wish_words))


def continues_the_complaint(text: str, config: Optional[DialogueConfig] = None) -> bool:
    """Whether ``text`` starts like a continuation of what was told ("而且…", "他还…")."""
    config = config or dialogue_config()
    return any(text.strip().startswith(w) for w in config.complaint_more_detail_words)


def adds_to_a_complaint(text: str, config: Optional[DialogueConfig] = None) -> bool:
    """Whether a message right after a complaint was filed adds to it: a demand ("希望给我个道歉"),
    an addition ("补充一下 那个师傅姓王") or more of what happened ("而且他还把地板弄脏了")."""
    config = config or dialogue_config()
    # not "something happened (了)": after the ticket that is as often a new matter
    # ("客服电话太难打通了" is a suggestion of its own)
    return (says_a_demand(text, config) or any(w in text for w in config.complaint_addition_words)
            or continues_the_complaint(text, config))


def misread_repair_request(text: str, config: Optional[DialogueConfig] = None) -> bool:
    """Whether a message read as a ticket question is a new repair request: it names no ticket
    (no number, no ticket word, no question about a visit) but a fault or a repair
    ("我想报修，空调不太对劲" and "油烟机故障了 求上门" opened the ticket look-up, which asked for
    a ticket number the customer never had)."""
    from kefu.nlp.catalogue import find_faults
    from kefu.nlp.normalize import extract_ticket_no

    config = config or dialogue_config()
    words = config.ticket_switch_words + config.ticket_question_words + config.chaser_words
    if extract_ticket_no(text) or any(w in text for w in words):
        return False  # "人呢 说好的上午来修空调" chases a booked visit
    return any(w in text for w in config.repair_request_words) or bool(find_faults(text))


def suggestion_misread_repair(text: str, config: Optional[DialogueConfig] = None) -> bool:
    """Whether a message the NLU took for a suggestion reports a fault of a product to repair
    ("对了 我家冰箱也不太制冷 能一起报吗", "不是建议 我是说冰箱也坏了 要报修": both were filed as
    suggestions; chat probe, 2026-12-08). A suggestion about a fault ("空调噪音大 建议改进") stays one."""
    from kefu.nlp.catalogue import find_faults, find_products

    config = config or dialogue_config()
    reports = bool(find_faults(text)) or any(w in text for w in config.repair_request_words)
    if any(w in text for w in config.not_a_suggestion_words):
        return reports or bool(find_products(text))
    if any(w in text for w in config.suggestion_words):
        return False
    return reports and bool(find_products(text))


def is_affirmation(text: str, config: Optional[DialogueConfig] = None) -> bool:
    """Whether ``text`` is a bare yes ("嗯", "好的", "是的呀"): one or more ``affirmation_phrases``
    and nothing else but particles and punctuation. Traditional and full-width forms count
    ("對的", "ＯＫ"); "不是", "不要" do not (the "不" stays), nor a question ("嗯？？", "好的?")."""
    from kefu.nlp.textnorm import normalize_text

    config = config or dialogue_config()
    rest = normalize_text(text).text.lower()
    if "?" in rest:  # "嗯？？" is puzzlement, not a yes (a probe customer was queued for a person)
        return False
    found = False
    for phrase in sorted(config.affirmation_phrases, key=len, reverse=True):
        if phrase.lower() in rest:
            found = True
            rest = rest.replace(phrase.lower(), " ")
    return found and not _PARTICLES.sub("", rest)


# The two-stage fallback's question ("小暖想确认一下，您是要…吗？", actions/conversation.py):
# its first button is the intent the question names.
AFFIRMATION_RESPONSE = "utter_ask_affirmation"


def offered_button(events: List[Dict[str, Any]], config: Optional[DialogueConfig] = None) -> Optional[Dict[str, str]]:
    """The first button of the two-stage question, if that question is the bot's latest
    message and the customer has not answered it yet (``events``: tracker events as dicts);
    only a button a customer may press (an intent of ``button_intents``, or an FAQ question)."""
    config = config or dialogue_config()
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            return None
        if kind != "bot":
            continue
        if (event.get("metadata") or {}).get("utter_action") != AFFIRMATION_RESPONSE:
            return None
        buttons = (event.get("data") or {}).get("buttons") or []
        first = buttons[0] if buttons and isinstance(buttons[0], dict) else {}
        payload, title = str(first.get("payload") or ""), str(first.get("title") or "")
        if not payload or not title:
            return None
        match = _PAYLOAD.match(payload)
        if payload.startswith("/") and not (match and match.group(1) in config.button_intents):
            return None
        return {"payload": payload, "title": title}
    return None


def typed_confirmation(text: str, events: List[Dict[str, Any]],
                       config: Optional[DialogueConfig] = None) -> Optional[Dict[str, str]]:
    """A typed yes ("嗯", "好的", "是的") to the two-stage question "您是要…吗？" means its first
    button: that button (payload, title), to be handled as if it was pressed; else None."""
    config = config or dialogue_config()
    if not is_affirmation(text, config):
        return None
    button = offered_button(events, config)
    match = _PAYLOAD.match(button["payload"]) if button else None
    if match and match.group(1) in config.no_typed_yes_intents:
        return None  # "好的👌" to "您是要取消工单吗？" (a guess) must not start a cancellation
    return button


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
