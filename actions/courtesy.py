"""Courtesy in any state, and a different request in the middle of a form.

- ``action_courtesy``: affirm/deny/thank/greet outside a yes/no question get one short
  natural reply. Outside a form: "好的，还有什么可以帮您？", "不客气", a closing after
  "没有了/不用了"; inside a form a one-word acknowledgement, after which the form repeats
  its question. ``courtesy_reply`` is also used by the fallback and the bare-answer router.
- ``action_switch_request``: a different request typed while a form is open
  (config/dialogue.yml form_switches): the form is set aside (its answers stay in the
  slots, so asking for the same request again resumes it) and the new request starts,
  with a short confirmation.
- ``action_goodbye_in_form``: a goodbye inside a form closes politely — unless it was
  "没有了"/"不知道" answering a question where "nothing" is an answer (the model
  question): then it is that answer and the form goes on. ``answer_heard_as_stop`` does
  the same for a "stop" (``action_abandon_form``): "记不清了" to the model question.
"""
from __future__ import annotations

import re
from typing import List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import latest_intent
from kefu.nlp.normalize import extract_order_no, extract_phone, extract_ticket_no

FORM_LABELS = {
    "repair_form": "报修登记", "installation_form": "安装预约", "complaint_form": "投诉登记",
    "return_form": "退换货申请", "ticket_lookup_form": "工单查询", "order_lookup_form": "订单查询",
    "callback_form": "回电预约", "suggestion_form": "建议登记",
}
# A form this turn cannot name: the responses say "刚才的{form}" (it read "刚才的刚才的登记").
UNKNOWN_FORM_LABEL = "登记"


def courtesy_reply(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """One short, natural reply to a courtesy message, whatever the NLU called it."""
    from actions.common import latest_text
    from kefu.dialogue_config import courtesy_kind

    intent = latest_intent(tracker)
    kind = courtesy_kind(latest_text(tracker)) or ("thanks" if intent == "thank" else "ack")
    greeting = kind == "greeting" or (kind == "ack" and intent == "greet")
    if (tracker.active_loop or {}).get("name"):
        short = {"thanks": "utter_welcome_short"}.get(kind, "utter_greet_short" if greeting else "utter_ack_short")
        dispatcher.utter_message(response=short)  # the form repeats its question next
        return
    dispatcher.utter_message(response="utter_greet" if greeting else
                             {"closing": "utter_goodbye", "thanks": "utter_you_are_welcome"}.get(kind, "utter_ack"))


class ActionCourtesy(Action):
    def name(self) -> Text:
        return "action_courtesy"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        answered = courteous_nothing(tracker)
        if answered is None:
            answered = code_heard_as_courtesy(tracker, dispatcher)
        if answered is not None:
            return answered  # the form runs next (its rule) and asks the following question
        set_aside = look_up_set_aside(tracker, dispatcher)
        if set_aside is not None:
            return set_aside
        answered = await answer_heard_as_courtesy(tracker, dispatcher)
        if answered is not None:
            return answered
        if fault_heard_as_courtesy(tracker):
            from actions.common import latest_text
            from actions.conversation import start_request

            return await start_request("report_repair", dispatcher, tracker, domain, latest_text(tracker))
        courtesy_reply(dispatcher, tracker)
        return []


def fault_heard_as_courtesy(tracker: Tracker) -> bool:
    """"就是水温忽冷忽热" (affirm, 0.57) outside a form: a fault, not an acknowledgement — it got
    "嗯嗯，收到" (chat probe, 2026-12-07). Not right after a repair ticket of this conversation,
    where it is more likely about that repair."""
    from actions.common import latest_text
    from actions.requests import reported_faults
    from kefu.dialogue_config import courtesy_kind

    text = latest_text(tracker)
    if (tracker.active_loop or {}).get("name") or courtesy_kind(text) is not None:
        return False
    from kefu.settings import service_config

    if str(tracker.get_slot("last_ticket_no") or "").startswith(service_config().ticket_types["repair"].prefix):
        return False
    return bool(reported_faults(text, None))


# The look-ups, the number each asks for, and what the bot says to a failed answer to it.
LOOK_UPS = {"ticket_lookup_form": ("ticket_no", "工单号", ("utter_invalid_ticket_no", "utter_ticket_no_unknown")),
            "order_lookup_form": ("order_no", "订单号", ("utter_invalid_order_no", "utter_order_no_unknown"))}


def look_up_set_aside(tracker: Tracker, dispatcher: CollectingDispatcher) -> Optional[List[EventType]]:
    """"好的 谢谢" / "嗯嗯 知道了 谢啦" when a look-up asks for its number: the customer has none
    to give now. The look-up ends with where to send the number later; it asked for the number
    again after every courtesy, turn after turn (chat probe, 2026-12-07). A bare "好的" to the
    first question may mean "let me look": it ends the look-up only after a failed answer."""
    from actions.common import latest_text
    from actions.forms import already_said
    from kefu.dialogue_config import courtesy_kind

    form = (tracker.active_loop or {}).get("name")
    if form not in LOOK_UPS or tracker.get_slot("requested_slot") != LOOK_UPS[form][0]:
        return None
    kind = courtesy_kind(latest_text(tracker))
    failed = any(already_said(tracker, response) for response in LOOK_UPS[form][2])
    if kind in (None, "greeting") or (kind == "ack" and not failed):
        return None
    dispatcher.utter_message(response="utter_look_up_set_aside", number=LOOK_UPS[form][1])
    return [ActiveLoop(None), SlotSet("requested_slot", None), FollowupAction("action_listen")]


def courteous_nothing(tracker: Tracker) -> Optional[List[EventType]]:
    """"没有了，谢谢" / "不知道哈 谢谢" to the model question (heard as thanks inside the form): the
    answer "unknown", not a "不客气" and the same question again (chat probe, 2026-12-07)."""
    from actions.common import latest_text

    asked = tracker.get_slot("requested_slot")
    if not (tracker.active_loop or {}).get("name"):
        return None
    value = nothing_answer_value(asked, latest_text(tracker))
    return None if value is None else [SlotSet(asked, value)]


def code_heard_as_courtesy(tracker: Tracker, dispatcher: CollectingDispatcher) -> Optional[List[EventType]]:
    """"DD12" or "1381234" at an order, ticket or phone question, heard as an acknowledgement:
    a mistyped answer, told so ("订单号格式好像不对…", which asks again), not "好的。" and the
    same question again (chat probe, 2026-12-07). A valid number is an entity the form takes
    whatever the intent; an invalid one must not be stored unvalidated."""
    from actions.common import latest_text
    from kefu.dialogue_config import dialogue_config, is_courtesy

    asked, text = tracker.get_slot("requested_slot"), latest_text(tracker).strip()
    if not (tracker.active_loop or {}).get("name") or asked not in CODE_SLOTS:
        return None
    if not re.search(r"[0-9A-Za-z]", text) or is_courtesy(text) or CODE_SLOTS[asked](text):
        return None
    dispatcher.utter_message(response=dialogue_config().asked_in_invalid_message[asked][0])
    return []


async def answer_heard_as_courtesy(tracker: Tracker, dispatcher: CollectingDispatcher) -> Optional[List[EventType]]:
    """An answer to the form's question that the NLU heard as thanks or a greeting but that is
    no courtesy at all ("在京东买的" at the order question got "不用客气" and the question again;
    chat probe, 2026-12-08): judged by the form's own validator for the slot asked for (a slot
    set here is not validated again by the form, which runs next and asks what is missing)."""
    from rasa_sdk.utils import call_potential_coroutine

    from actions.common import latest_text
    from actions.forms import validator_for
    from kefu.dialogue_config import courtesy_kind

    form, asked, text = (tracker.active_loop or {}).get("name"), tracker.get_slot("requested_slot"), latest_text(tracker).strip()
    if not form or not asked or len(text) < 4 or courtesy_kind(text) is not None:
        return None
    if latest_intent(tracker) not in ("thank", "greet"):
        return None  # a short yes or no ("没问题", "不要") is no answer to an open question
    validate = getattr(validator_for(form), f"validate_{asked}", None)
    if validate is None:
        return None
    # the validators read no domain (this action receives none: tests/actions/test_domain_use.py)
    slots = await call_potential_coroutine(validate(text, dispatcher, tracker, {}))
    return [SlotSet(slot, value) for slot, value in (slots or {}).items() if value is not None]


def nothing_answer_value(asked: Optional[str], text: str) -> Optional[str]:
    """The answer "没有了"/"不知道" (thanks and particles around it ignored) gives to the question
    for ``asked`` when nothing is a complete answer there (the model: unknown; the demand: the
    text); None when the question is another or the text says more."""
    from actions.forms import DONT_KNOW, NOTHING_MORE, UNKNOWN_MODEL
    from kefu.dialogue_config import dialogue_config

    if asked not in NOTHING_IS_AN_ANSWER:
        return None
    bare = text
    for phrase in sorted(dialogue_config().thanks_phrases, key=len, reverse=True):
        bare = bare.replace(phrase, "")
    bare = re.sub(r"[\s,，。.!！~～哈啊呀]+", "", bare)
    if not bare or not (NOTHING_MORE.match(bare) or DONT_KNOW.search(bare)):
        return None
    return UNKNOWN_MODEL if asked == "product_model" else bare


# Form questions whose answer is free text, kept as typed (no validator has to see it).
FREE_TEXT_SLOTS = {"product_model", "fault_description", "complaint_detail", "complaint_demand", "return_reason"}
# ... and those where "没有了" / "不知道" is a complete answer (the NLU hears a goodbye in it).
NOTHING_IS_AN_ANSWER = {"product_model", "complaint_demand"}
# ... and those answered with digits and letters, which the NLU may hear as anything (each
# with what finds a valid value in an answer).
CODE_SLOTS = {"phone": extract_phone, "order_no": extract_order_no, "ticket_no": extract_ticket_no}
# ... and those where a grievance is the answer (why the customer wants to return it; the
# suggestion asked for: "你们的洗衣机app太难用了" was read as a complaint and switched).
COMPLAINT_IS_AN_ANSWER = {"return_reason", "suggestion_text"}


def asked_slot(tracker: Tracker) -> Optional[str]:
    """The slot the form asked for last (action_deactivate_loop has just reset requested_slot)."""
    for event in reversed(tracker.events):
        if event.get("event") == "slot" and event.get("name") == "requested_slot" and event.get("value"):
            return event["value"]
    return None


def previous_form(tracker: Tracker) -> Optional[str]:
    """The form that was open before this turn's deactivation."""
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name"):
            return event["name"]
    return None


def resume_with_answer(form: str, slot: str, value: str) -> List[EventType]:
    """Take the set-aside form up again with ``value`` as the answer to ``slot``."""
    return [ActiveLoop(form), SlotSet("ticket_op", None), SlotSet("requested_slot", slot), SlotSet(slot, value),
            FollowupAction(form)]


def resume_asking(form: str, slot: str) -> List[EventType]:
    """Take the set-aside form up again; it asks for ``slot`` again."""
    return [ActiveLoop(form), SlotSet("ticket_op", None), SlotSet("requested_slot", slot), FollowupAction(form)]


async def order_answer_events(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """"订单号我不知道在哪里看" / "油烟机 订单 JD310294857362" at the return form's order question
    opened a look-up (chat probe, 2026-12-07): it answers the question, judged by the return
    form's own order validator (a slot set here is not validated again by the form). None: a
    real question about an order ("帮我查下订单 DD…")."""
    from actions.common import latest_text
    from actions.forms import ValidateReturnForm

    text = latest_text(tracker)
    if ORDER_QUESTION.search(text):
        return None
    # the validator reads no domain (this action receives none: tests/actions/test_domain_use.py)
    slots = await ValidateReturnForm().validate_order_no(text, dispatcher, tracker, {})
    return [*resume_asking("return_form", "order_no")[:-1],
            *(SlotSet(slot, value) for slot, value in slots.items() if value is not None), FollowupAction("return_form")]


# "帮我查下订单 DD…" / "物流到哪了": a real question about an order, not the return's order number
ORDER_QUESTION = re.compile(r"查|进度|物流|到哪|发货|快递|什么时候到")


def form_answer_events(tracker: Tracker, target: Optional[str], previous: Optional[str]) -> Optional[List[EventType]]:
    """When an interrupting request is really the answer to the form's question, the form is
    taken up again with the text as the value of the slot it asked for:
    - a ticket or order question that names no number and no ticket word (config/dialogue.yml
      ticket_switch_words): "记不清了" to the model question, "送货的把我的冰箱门磕了一块" to the
      complaint's demand question;
    - anything read as a look-up at the return form's order question: the answer;
    - a complaint given as the reason for a return ("质量太差了，用两天就坏"): it is the reason;
    - a "return" that says nothing of returning (config/dialogue.yml return_switch_words): the
      form asks its question again."""
    from actions.common import latest_text
    from kefu.dialogue_config import dialogue_config
    from kefu.nlp.normalize import extract_order_no, extract_ticket_no

    if not previous or previous == target:
        return None
    text = latest_text(tracker)
    asked = asked_slot(tracker)
    if target == "complaint_form":
        return resume_with_answer(previous, asked, text) if asked in COMPLAINT_IS_AN_ANSWER else None
    if target == "return_form" and not any(word in text for word in dialogue_config().return_switch_words):
        # "是滚筒的，买了有五六年了吧" to the repair form's model question was read as a return and
        # the repair became a return (chat probe, 2026-12-07): no return without a return word
        return resume_asking(previous, asked) if asked else None
    if target not in LOOK_UPS:
        return None
    if previous == "complaint_form" and asked:
        from actions.forms import complaint_with_reference

        noted = complaint_with_reference(tracker, text)
        if noted:  # "工单KF20261128045" in a complaint says which service it is about: no look-up
            return [*resume_asking(previous, asked)[:-1], SlotSet("complaint_detail", noted), FollowupAction(previous)]
    if extract_ticket_no(text) or extract_order_no(text) or any(word in text for word in dialogue_config().ticket_switch_words):
        return None
    if asked not in FREE_TEXT_SLOTS:
        # phone, address, time: their validators must see an answer. A message that asks nothing
        # about a ticket ("reset过了 没用" at the address question) is no ticket question: the
        # form asks its question again (it became a ticket look-up asking for a number)
        if asked and previous and not any(word in text for word in dialogue_config().ticket_question_words):
            return resume_asking(previous, asked)
        return None
    value = text
    if asked == "product_model":
        from actions.forms import DONT_KNOW, UNKNOWN_MODEL

        value = UNKNOWN_MODEL if DONT_KNOW.search(text) else text[:30]
    return resume_with_answer(previous, asked, value)


class ActionSwitchRequest(Action):
    def name(self) -> Text:
        return "action_switch_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        from kefu.dialogue_config import dialogue_config

        previous = previous_form(tracker)
        switch = dialogue_config().switch_for(latest_intent(tracker) or "", previous)
        target, op = (switch.to, switch.op) if switch else (None, None)
        label = FORM_LABELS.get(previous or "", UNKNOWN_FORM_LABEL)
        if previous == "return_form" and asked_slot(tracker) == "order_no":
            from actions.common import latest_text
            from actions.forms import NO_ORDER_NO, says_no_order_no

            if says_no_order_no(latest_text(tracker)):  # "没有订单号，是在门店买的" read as an order question
                dispatcher.utter_message(response="utter_no_order_no_ok")
                return resume_with_answer(previous, "order_no", NO_ORDER_NO)
        if previous == "return_form" and asked_slot(tracker) == "order_no" and target in LOOK_UPS:
            answered = await order_answer_events(dispatcher, tracker)
            if answered is not None:
                return answered
        answer = form_answer_events(tracker, target, previous)
        if answer is not None:
            return answer
        if target is None:
            dispatcher.utter_message(response="utter_ask_what_service")
            return []
        events: List[EventType] = [SlotSet("requested_slot", None)]
        if target == "repair_form":  # what the repair request itself says (an emergency's safety first)
            from actions.requests import repair_request_events

            events += repair_request_events(dispatcher, tracker)
        dispatcher.utter_message(response="utter_switch_request", form=label)
        if op:
            events.append(SlotSet("ticket_op", op))
        if target == "complaint_form":  # feelings first, then the complaint form
            from actions.escalation import escalate

            dispatcher.utter_message(response="utter_complaint_empathy")
            escalation = await escalate(dispatcher, tracker, intent_hint="complaint")
            if any(e.get("event") == "pause" for e in escalation):
                return events + escalation
            return events + escalation + [FollowupAction(target)]
        return events + [FollowupAction(target)]


def nothing_as_answer(tracker: Tracker) -> Optional[List[EventType]]:
    """"没有了"/"不知道" answering a question where "nothing" is an answer, whatever the NLU
    heard in it (``nothing_answer_value``): the set-aside form goes on with it."""
    from actions.common import latest_text

    form, asked = previous_form(tracker), asked_slot(tracker)
    value = nothing_answer_value(asked, latest_text(tracker)) if form else None
    return None if value is None else resume_with_answer(form, asked, value)


async def answer_heard_as_stop(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """"记不清了"/"不知道" that the NLU took for "stop the form" but that answers the form's
    question (``nothing_as_answer``); a forgotten ticket number gets the way forward without
    it. None: it really is a stop."""
    from actions.common import latest_text
    from actions.forms import DONT_KNOW, ticket_no_unknown
    from kefu.dialogue_config import dialogue_config

    text = latest_text(tracker).strip()
    form, asked = previous_form(tracker), asked_slot(tracker)
    if not form or any(w in text for w in dialogue_config().stop_words):  # a real stop
        return None
    answered = nothing_as_answer(tracker)
    if answered is not None:
        return answered
    if asked == "ticket_no" and DONT_KNOW.search(text):
        await ticket_no_unknown(dispatcher, tracker)
        return [ActiveLoop(form), SlotSet("requested_slot", asked), FollowupAction(form)]
    return None


class ActionGoodbyeInForm(Action):
    def name(self) -> Text:
        return "action_goodbye_in_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        answered = nothing_as_answer(tracker) or no_order_no_as_answer(tracker, dispatcher)
        if answered is not None:
            return answered
        form = previous_form(tracker)
        if form in RESUMED_BY and len(answers_given(tracker, form)) >= 2:
            # the customer may think it was filed ("对 就是这些" after giving everything but the model)
            dispatcher.utter_message(response="utter_goodbye_unsubmitted", form=FORM_LABELS[form], request=RESUMED_BY[form])
            return []
        dispatcher.utter_message(response="utter_goodbye")
        return []


# The request forms that file a ticket, and what the customer says to take one up again
# (the answers stay in the slots; actions/requests.py FORM_SLOTS).
RESUMED_BY = {"repair_form": "报修", "installation_form": "预约安装", "complaint_form": "投诉", "return_form": "退换货"}


def answers_given(tracker: Tracker, form: str) -> List[str]:
    """The slots of ``form``'s request (and the phone) the customer has answered."""
    from actions.requests import FORM_SLOTS

    kind = form.removesuffix("_form")
    return [slot for slot in [*FORM_SLOTS.get(kind, []), "phone"]
            if slot not in ("emergency", "registered_model", "customer_address") and tracker.get_slot(slot)]


def no_order_no_as_answer(tracker: Tracker, dispatcher: CollectingDispatcher) -> Optional[List[EventType]]:
    """"没有了" to the return form's order-number question, heard as goodbye: there is no number
    to give, and the return goes on without it like after "没有订单号" (it closed the form with a
    goodbye, clean-clone chat 2026-12-07)."""
    from actions.common import latest_text
    from actions.forms import NO_ORDER_NO, NOTHING_MORE

    if previous_form(tracker) != "return_form" or asked_slot(tracker) != "order_no":
        return None
    if not NOTHING_MORE.match(re.sub(r"[\s,，~～哈啊呀]+", "", latest_text(tracker))):
        return None
    dispatcher.utter_message(response="utter_no_order_no_ok")
    return resume_with_answer("return_form", "order_no", NO_ORDER_NO)
