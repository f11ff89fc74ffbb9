"""Slot validation for Kefu's forms (thin: parsing lives in kefu.nlp)."""
from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any, Callable, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.common import latest_intent, latest_text, previous_value, registered_products, verified_customer_id, verified_phone
from actions.stall import StallWatch, time_answer
from kefu import clock
from kefu.dialogue_config import demand_in_complaint, tells_more_of_the_complaint
from kefu.nlp.address import address_in_answer, announces_correction, is_partial_address, looks_like_full_address, merge_address, plausible_address
from kefu.nlp.catalogue import canonical_product, find_faults, find_products, product_for_model
from kefu.nlp.names import introduced_name
from kefu.nlp.normalize import clean_user_text, extract_order_no, extract_phone, extract_ticket_no
from kefu.nlp.timeparse import clock_range_span, format_window, in_negated_clause, parse_appointment, visit_hours_text

UNKNOWN_MODEL = "未知"
DONT_KNOW = re.compile(r"不知道|不清楚|不记得|记不清|想不起|忘了|找不到|没有型号|看不到|不确定|不晓得|没注意|不造")
# Requests heard at the model question without anything model-like: the form goes on, the
# text is no model ("还是报修吧" to come back to the repair after an FAQ).
NOT_A_MODEL_INTENTS = {"report_repair", "request_installation", "affirm"}
MODEL_PATTERN = re.compile(r"[A-Za-z]{1,5}[A-Za-z0-9]*[-/]?[A-Za-z0-9][A-Za-z0-9\-/().]{1,30}")
# Parts of a machine, said alone at the model question ("冷藏室", "内机"): where the fault is.
MACHINE_PART = re.compile(r"^(?:是|在)?(?:冷藏室|冷冻室|冷藏|冷冻|变温室|内机|外机|室内机|室外机|左边|右边|上面|下面|灶眼|内胆|"
                          r"滤网|排水口|门封|门封条|显示屏|面板)(?:的|那个|那边|这块)?[。.!！]*$")
# Words that carry no content of their own in a fault or complaint description.
FILLER = re.compile(r"你好|您好|在吗|我要|我想|帮我|麻烦|请|报修|维修|修一下|修理|投诉|我要投诉|客服|一下|继续|那就|还是|先|那|嗯|就|了|的|啊|呢|吧|吗|[\s,.!?，。！？~～、]")
NOTHING_MORE = re.compile(r"^(?:对|嗯|是的?|好的?)?(没有|没了|无|没|不用|暂时没有|没有了|没啥|就这样|跳过|就这些|就是这些|就这么多)[。!！.]*$")
SCORE_WORDS = [
    (re.compile(r"非常不满意|很不满意|极差|太差|垃圾|很差"), 1),
    (re.compile(r"不满意|不太满意|差"), 2),
    (re.compile(r"一般|还行|凑合|马马虎虎"), 3),
    (re.compile(r"非常满意|很满意|特别满意|超级满意|完美|太棒"), 5),
    (re.compile(r"满意|不错|挺好|很好|好评"), 4),
]
# "不想给手机号", "为什么要手机号": the customer declines, it is not a mistyped number
PHONE_REFUSED = re.compile(r"不想给|不给|不方便|不想留|不留|不愿意|为什么要|为啥要|凭什么|干嘛要|保密|隐私|不告诉|一定要|必须|骚扰|推销")
# A message that asks something (an FAQ in the middle of a form) rather than stating a wish.
# What the NLU made of a bare time at the time question ("晚上十点" -> the service-hours FAQ);
# not stop_form/request_human: "算了，明天再说" is a stop, whatever time it names.
TIME_MISHEARD_AS = frozenset({"faq", "chitchat", "out_of_scope"})
ASKS = re.compile(r"[？?]\s*$|吗\s*$|怎么|如何|多少钱|多久|多长时间|哪里|哪儿|是什么|为什么")
# A return request's clauses that say why it is returned, and those that only ask for it.
RETURN_REASON_WORDS = re.compile(r"质量|坏|故障|不好用|不喜欢|不合适|尺寸|太大|太小|颜色|发错|少发|破损|磕|划痕|瑕疵|漏|响|异味|不制冷|不制热|不工作|关不严|"
                                 r"用不了|不能用|有问题|噪音|声音大|味道")
RETURN_WISH = re.compile(r"想退|要退|能退|可以退|申请|办理|退换|售后")
# The return form goes on without an order number when the customer cannot find it.
NO_ORDER_NO = "未提供"
# Order numbers of other shops: letters optional, then at least 10 digits ("JD123456789012").
OTHER_SHOP_ORDER = re.compile(r"(?<![A-Z0-9])[A-Z]{0,4}\d{10,24}(?![0-9])")


def already_said(tracker: Tracker, response: str) -> bool:
    """Whether the bot said ``response`` since the active form started (a second failure)."""
    return _said_since(tracker, response, lambda event: event.get("event") == "active_loop" and bool(event.get("name")))


def says_no_order_no(text: str) -> bool:
    """The customer has no order number to give (config/dialogue.yml no_order_no_words)."""
    from kefu.dialogue_config import dialogue_config

    return not extract_order_no(text) and any(word in text for word in dialogue_config().no_order_no_words)


def said_this_turn(tracker: Tracker, response: str) -> bool:
    """Whether the bot already said ``response`` after the customer's latest message."""
    return _said_since(tracker, response, lambda event: event.get("event") == "user")


def _said_since(tracker: Tracker, response: str, is_start) -> bool:
    """Whether ``response`` was said after the latest event for which ``is_start`` holds."""
    for event in reversed(tracker.events):
        if is_start(event):
            return False
        if event.get("event") == "bot" and (event.get("metadata") or {}).get("utter_action") == response:
            return True
    return False


CN_SCORE = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}


def now_local() -> dt.datetime:
    from kefu import settings

    return clock.local_now(settings.service_config().tz)


def silent_on_reset(validator):
    """Rasa also validates slots that an action just reset to None: no complaint then."""

    @functools.wraps(validator)
    def wrapper(self, value, dispatcher, tracker, domain):
        if value is None:
            return {validator.__name__[len("validate_"):]: None}
        return validator(self, value, dispatcher, tracker, domain)

    return wrapper


# "地址一样" / "同上" / "还是刚才那个地址": the address of the conversation's earlier request.
SAME_AS_BEFORE = re.compile(r"一样|同上|同一个|还是那个|还是刚才|跟刚才|和刚才|跟上次|和上次|上面那个|之前那个")
PHONE_DIGITS = r"1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}"
# "就是下单那个地址" / "老地址" / "收货地址": an address the customer expects us to have.
ADDRESS_ON_FILE = re.compile(r"下单|订单|收货|默认|原来|原地址|老地址|以前|登记|留过")
# "地址是…，电话也一样": a clause about the phone alone says nothing about the address
CLAUSE = re.compile(r"[^，,。；;！!\s]+")
PHONE_WORDS = re.compile(r"电话|手机|号码|联系方式")


def about_address(said: str) -> str:
    """The message without its clauses about the phone alone ("电话也一样" is not "地址一样";
    "地址电话都一样" stays)."""
    return CLAUSE.sub(lambda c: "" if PHONE_WORDS.search(c.group(0)) and "地址" not in c.group(0) else c.group(0), said)


def last_given(tracker: Tracker, slot: str, accept: Callable[[str], Any]) -> Optional[str]:
    """The last value of `slot` this conversation filled in (slots are cleared after each request)."""
    for event in reversed(tracker.events):
        if event.get("event") == "slot" and event.get("name") == slot and event.get("value"):
            value = event.get("value")
            if isinstance(value, str) and accept(value):
                return value
    return None


def last_address_given(tracker: Tracker) -> Optional[str]:
    return last_given(tracker, "address", plausible_address)


FORMS_WITH_ADDRESS = {"repair_form", "installation_form"}


def address_corrected_instead(tracker: Tracker, dispatcher: CollectingDispatcher) -> Optional[Dict[Text, Any]]:
    """A corrected address typed at the next question ("不好意思地址写错了 是盘龙区北京路985号"
    when asked for the phone): the address changes, with a confirmation, and the question is
    asked again — it was answered "这个号码好像不是有效的手机号呢" (chat probe, 2026-12-07)."""
    # before this turn: the NLU's address entity may already have put the new one in the slot
    old = previous_value(tracker, "address") or tracker.get_slot("address")
    if (tracker.active_loop or {}).get("name") not in FORMS_WITH_ADDRESS or not old:
        return None
    new = address_in_answer(latest_text(tracker), old)
    if not new or new == old:
        return None
    dispatcher.utter_message(response="utter_address_corrected", address=new)
    return {"address": new}


def misplaced_answer(text: str, tracker: Tracker, asked: str) -> Optional[Dict[Text, Any]]:
    """An answer to another of the form's questions typed where a free-text one was asked
    (a phone number, a name or a whole address at the model, fault or demand question):
    it fills its own slot, the asked one stays empty and is asked again. A chat probe found
    tickets whose model was "13812345678" and whose fault was the customer's address."""
    compact = re.sub(r"[\s\-]", "", text or "")
    phone = extract_phone(text or "")
    if phone and len(compact) <= len(phone) + 6:  # "13812345678" / "电话13812345678"
        return {asked: None, "phone": phone}
    name = introduced_name(compact)  # "我叫王大明", "我是张伟", "我姓张", "免贵姓欧阳"
    if name:
        return {asked: None, "person_name": name}
    form = (tracker.active_loop or {}).get("name")
    if form in FORMS_WITH_ADDRESS and asked != "address" and looks_like_full_address(text) and not find_faults(text):
        return {asked: None, "address": clean_user_text(text, max_len=200)[0]}
    if form == "return_form" and asked != "order_no":
        corrected = order_number_corrected(text)
        if corrected:
            return {asked: None, **corrected}
    if form == "complaint_form" and asked != "complaint_detail":
        noted = complaint_with_reference(tracker, text)
        if noted:
            return {asked: None, "complaint_detail": noted}
    return None


CORRECTION_WORDS = re.compile(r"不对|错了|打错|少打|多打|输错|写错|更正|应该是|改成|重新发")


def order_number_corrected(text: str) -> Optional[Dict[Text, Any]]:
    """"不对 少打了一位 JD293847561024" at the return reason question: the order number again,
    corrected (it became the reason; chat probe, 2026-12-07)."""
    ours = extract_order_no(text)
    other = None if ours else OTHER_SHOP_ORDER.search(text.upper())
    if not (ours or other):
        return None
    rest = text.upper().replace((ours or other.group(0)).upper(), "")
    if not CORRECTION_WORDS.search(text) and len(FILLER.sub("", re.sub(r"订单号?|单号", "", rest))) > 2:
        return None  # a reason that mentions a number
    return {"order_no": ours} if ours else {"order_no": NO_ORDER_NO, "external_order_no": other.group(0)}


# "工单KF20261128045" / "单号是 BX20261203-0017": a ticket or order number and nothing else
REFERENCE_NOTE = "（相关单号："
BARE_REFERENCE = re.compile(r"^(?:工单号?|单号|订单号?|单子)?\s*(?:是|:|：)?\s*([A-Za-z]{0,4}[\s-]?\d{6,}(?:-\d{1,6})?)[。.!！]*$")


def complaint_with_reference(tracker: Tracker, text: str) -> Optional[str]:
    """The complaint's description with a bare ticket or order number noted in it, when ``text``
    is one: in a complaint it says which service went wrong. It opened the ticket look-up
    (the complaint was set aside) or became the customer's demand (chat probe, 2026-12-07)."""
    match = BARE_REFERENCE.match((text or "").strip())
    if not match or extract_phone(text):
        return None
    detail = tracker.get_slot("complaint_detail") or ""
    return f"{detail}{REFERENCE_NOTE}{match.group(1).strip()}）".strip()


def describes_a_fault(text: str) -> bool:
    """Whether a message says something about the fault beyond "报修"/"那继续吧"."""
    return bool(find_faults(text)) or len(FILLER.sub("", without_products(text))) >= 3


def without_products(text: str) -> str:
    """``text`` without the product names in it: "洗碗机报修" says nothing about the fault."""
    from kefu.nlp.catalogue import load_catalogue

    for match in reversed(load_catalogue().match_products(text)):
        text = text[:match.start] + text[match.end:]
    return text


def whole_time_span(tracker: Tracker, value: Any) -> str:
    """DIET may cut one time expression into pieces ("下" + "周五", "这" + "周日下午") and
    Rasa keeps the last piece: "下周五" became this week's Friday. The run of adjacent
    `time` pieces of the latest message that contains ``value`` is what the customer said;
    a piece that is one end of a clock range ("5点" of "明天下午2-5点") brings the range."""
    value = str(value or "")
    latest = tracker.latest_message or {}
    text = latest.get("text") or ""
    spans = sorted(clock_range_span(text, e["start"], e["end"]) for e in latest.get("entities") or []
                   if e.get("entity") == "time" and isinstance(e.get("start"), int) and isinstance(e.get("end"), int))
    runs: List[List[int]] = []
    for start, end in spans:
        if runs and start >= runs[-1][0] and not text[runs[-1][1]:start].strip():
            runs[-1][1] = max(runs[-1][1], end)
        else:
            runs.append([start, end])
    for start, end in reversed(runs):
        if value and value in text[start:end]:
            return text[start:end]
    return value


def only_acknowledged(text: str, dispatcher: CollectingDispatcher) -> bool:
    """"好的"/"嗯" to a form's question is no answer: acknowledge it, and the form asks again."""
    from kefu.dialogue_config import courtesy_kind

    kind = courtesy_kind(text.strip())
    if kind not in ("ack", "greeting"):
        return False
    dispatcher.utter_message(response="utter_greet_short" if kind == "greeting" else "utter_ack_short")
    return True


def statement_heard_as_faq(tracker: Tracker, slot: str) -> Dict[Text, Any]:
    """"把多收的钱退给我" asked for a wish is the wish, even when the NLU hears an FAQ in it:
    the slot mappings leave FAQ questions to the FAQ answer, and a statement is not one."""
    if tracker.get_slot("requested_slot") != slot or latest_intent(tracker) != "faq":
        return {}
    text = latest_text(tracker).strip()
    return {} if not text or ASKS.search(text) else {slot: text}



# Words after an address that belong to the rest of the message ("…601室，家里空调坏了").
ADDRESS_TAIL = re.compile(r"[,，。;；\s]+(?:家里|家中|我家|家|这边|那边)?$")


def address_span(value: Any) -> str:
    """The address among DIET's ``address`` spans: one message with everything in it gives several
    ("上海市…601室，家里" and "明天下午"); the plausible address wins, times are no address."""
    spans = [str(v) for v in (value if isinstance(value, list) else [value]) if v]
    spans = [ADDRESS_TAIL.sub("", s) for s in spans if not time_span(s)]
    return max(spans, key=lambda s: (plausible_address(s), len(s)), default="")


def time_span(span: str) -> bool:
    return not plausible_address(span) and parse_appointment(span, now_local(), within_visit_hours=False) is not None


def appointment_slots(window: Any) -> Dict[Text, Any]:
    if window is None:
        return {"appointment_time": None, "appointment_start": None, "appointment_end": None}
    return {"appointment_time": format_window(window), "appointment_start": window.start.isoformat(),
            "appointment_end": window.end.isoformat()}


def model_instead_of_address(text: str, tracker: Tracker) -> Optional[str]:
    """The model number typed at the address question, when the form still lacks one ("找到了
    BCD-516WK", "型号W60-D3" got "地址好像不太完整"; chat probe, 2026-12-07)."""
    if plausible_address(text) or (tracker.active_loop or {}).get("name") not in FORMS_WITH_ADDRESS:
        return None
    match = MODEL_PATTERN.search(text.upper())
    model = match.group(0).strip("-/") if match else ""
    current = tracker.get_slot("product_model")
    if current not in (None, UNKNOWN_MODEL) and str(current).upper() != model:
        return None  # the form has another model already (the NLU may have put this one in the slot)
    if len(model) < 4 or not re.search(r"[A-Z]", model) or not re.search(r"\d", model) or extract_phone(text):
        return None
    if re.search(r"订单|工单|单号", text) or extract_order_no(text) or extract_ticket_no(text) or OTHER_SHOP_ORDER.search(model):
        return None  # "订单号DD2026…" at the address question is no model
    return model


def address_kept(spans: List[Any], tracker: Tracker) -> Optional[str]:
    """The address given before, when DIET heard an "address" in the answer to another question
    that is neither an address nor a part of one: "上午都行 下午我要去接孙子" at the time question
    threw away a valid address and asked for it again (chat probe, 2026-12-07)."""
    old = previous_value(tracker, "address")
    if tracker.get_slot("requested_slot") == "address" or not (isinstance(old, str) and plausible_address(old)):
        return None
    text = clean_user_text(address_span(spans), max_len=200)[0]
    if plausible_address(text) or is_partial_address(text) or is_partial_address(latest_text(tracker)):
        return None  # a new address or a correction of the old one
    return old


HOUSE_NUMBER_ONLY = re.compile(r"^(?:是|在)?\d{1,3}[号#]$")


def time_heard_as_address(value: Any, tracker: Tracker) -> Dict[Text, Any]:
    """A visit time DIET labelled as an address ("…601室，明天下午来修"): the appointment, when
    none is set yet and the time is one technicians visit at (else the question comes later)."""
    if not isinstance(value, list) or tracker.get_slot("appointment_start"):
        return {}
    # a bare "27号" among address spans is a house number ("是27号附1号 3栋2单元801" booked the 27th)
    value = [v for v in value if not HOUSE_NUMBER_ONLY.match(str(v).strip())]
    window = next((w for w in (parse_appointment(str(v), now_local()) for v in value if time_span(str(v))) if w), None)
    return appointment_slots(window) if window else {}


def outside_visit_hours(tracker: Tracker, value: Any, now) -> bool:
    """Whether the customer named a real future time that technicians do not visit at."""
    return any(parse_appointment(text, now, within_visit_hours=False)
               for text in (whole_time_span(tracker, value), latest_text(tracker)))

def acknowledge_model_out_of_turn(model: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """A model typed while the form asks something else ("额 刚才说错了 是XQG80-BD14" at the
    address question) is taken, and the customer is told so: the question alone came again,
    without a word on the model (widget chat, 2026-12-07)."""
    asked = tracker.get_slot("requested_slot")
    before = previous_value(tracker, "product_model")
    if asked in (None, "product_model") or str(before or "").upper() == model.upper():
        return
    if asked == "address" and not plausible_address(clean_user_text(latest_text(tracker), max_len=200)[0]):
        # the address question comes again inside this message (actions/asking.py skips a second one)
        dispatcher.utter_message(response="utter_model_noted_ask_address", model=model)
    else:
        dispatcher.utter_message(response="utter_model_noted", model=model)


MORE_SAID = "；"  # joins what the customer added later to a complaint's description or demand


def more_of_the_complaint(detail: str, text: str) -> str:
    """The complaint's description (or demand) with what the customer added later."""
    return detail if text in detail else f"{detail}{MORE_SAID}{text}"


def more_said_in_complaint(tracker: Tracker) -> Dict[Text, Any]:
    """The complaint's description or demand with the latest message added, when it was typed
    at the demand or phone question and tells more of what happened or (at the phone question)
    what the customer wants; else {}."""
    from kefu.dialogue_config import courtesy_kind, says_a_demand

    asked = tracker.get_slot("requested_slot")
    detail = previous_value(tracker, "complaint_detail")  # the slot may hold this message already (from_text)
    text, _ = clean_user_text(latest_text(tracker), max_len=500)
    if asked not in ("complaint_demand", "phone") or not detail or not text or extract_phone(text) or courtesy_kind(text):
        return {}
    if ASKS.search(text) or latest_intent(tracker) in ("stop_form", "request_human", "faq", "bot_challenge"):
        return {}  # a question or another request, answered on its own path
    if tells_more_of_the_complaint(text):
        return {"complaint_detail": more_of_the_complaint(detail, text)}
    demand = previous_value(tracker, "complaint_demand")
    if asked == "phone" and says_a_demand(text) and not PHONE_REFUSED.search(text):
        return {"complaint_demand": more_of_the_complaint(demand, text) if demand else text}
    return {}


class SharedSlotValidation:
    """Validators for slots that several forms ask for."""

    async def extract_appointment_time(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        """"晚上十点" to the time question was heard as the service-hours FAQ and the question came
        again (chat probe): a statement that is a time answers the question, whatever the NLU
        heard; the validator then says whether technicians visit then."""
        if tracker.get_slot("requested_slot") != "appointment_time" or not time_answer(tracker):
            return {}
        return {"appointment_time": latest_text(tracker).strip()}

    @silent_on_reset
    def validate_product_model(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        text = str(value or "").strip()
        moved = misplaced_answer(text, tracker, "product_model")
        if moved is not None and not MODEL_PATTERN.search(text.upper().replace(moved.get("phone") or "\0", "")):
            return moved
        registered = tracker.get_slot("registered_model")
        if registered and (latest_intent(tracker) == "affirm" or registered.upper() in text.upper()):
            return {"product_model": registered}  # the card's spelling (KFR-35GW/BpR3), not the upper-cased answer
        if latest_intent(tracker) == "deny" or DONT_KNOW.search(text):
            return {"product_model": UNKNOWN_MODEL}
        if only_acknowledged(text, dispatcher):  # "好的" to "型号是多少？" is not a model
            return {"product_model": None}
        match = MODEL_PATTERN.search(text.upper())
        if match:
            model = match.group(0).strip("-/")
            guessed = product_for_model(model)
            events: Dict[Text, Any] = {"product_model": model}
            if guessed and not tracker.get_slot("product"):
                events["product"] = guessed
            acknowledge_model_out_of_turn(model, dispatcher, tracker)
            return events
        product = canonical_product(FILLER.sub("", text).removeprefix("是"))
        if product:  # "洗衣机" to the model question names the machine, not its model: ask again
            return {"product_model": None, **({} if tracker.get_slot("product") else {"product": product})}
        if latest_intent(tracker) in NOT_A_MODEL_INTENTS:  # "还是报修吧" after an FAQ: the form goes on
            return {"product_model": None}
        if MACHINE_PART.match(text):
            # "冷藏室" / "内机" to the model question says where the fault is, not the model (it was
            # stored as the model; chat probe, 2026-12-07): part of the description, model unknown
            if (tracker.active_loop or {}).get("name") != "repair_form":
                return {"product_model": UNKNOWN_MODEL}
            description = tracker.get_slot("fault_description") or ""
            return {"product_model": UNKNOWN_MODEL, "fault_description": f"{description}（{text}）".strip()}
        if len(text) <= 30:
            return {"product_model": text or UNKNOWN_MODEL}
        return {"product_model": UNKNOWN_MODEL}

    @silent_on_reset
    def validate_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        phone = extract_phone(str(value or ""))
        earlier = None if phone else last_given(tracker, "phone", extract_phone)
        if earlier and SAME_AS_BEFORE.search(latest_text(tracker)):  # "电话也一样" for a second request
            return {"phone": earlier}
        if not phone and only_acknowledged(str(value or ""), dispatcher):
            return {"phone": None}
        if not phone and any(m.get("response") == "utter_complaint_detail_noted" for m in dispatcher.messages):
            return {"phone": None}  # more of the complaint, noted (more_said_in_complaint): no typo
        order_no = None if phone else extract_order_no(latest_text(tracker))
        if order_no and (tracker.active_loop or {}).get("name") == "return_form":
            # "等下 我找到订单号了 DD202612010087" at the phone question: "不是有效的手机号" (chat probe, 2026-12-08)
            dispatcher.utter_message(response="utter_order_no_noted", order_no=order_no)
            return {"phone": None, "order_no": order_no}
        corrected = None if phone else address_corrected_instead(tracker, dispatcher)
        if corrected:
            return {"phone": None, **corrected}
        if not phone and PHONE_REFUSED.search(latest_text(tracker)):
            # a refusal is not a typo: say why the number is needed and what else can be done
            dispatcher.utter_message(response="utter_phone_why")
            return {"phone": None}
        if not phone:
            dispatcher.utter_message(response="utter_invalid_phone")
            return {"phone": None}
        return {"phone": phone}

    @silent_on_reset
    def validate_address(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        # Rasa fills the slot with one of DIET's address spans; the message may have several
        spans = (value if isinstance(value, list) else [value]) + [
            e.get("value") for e in (tracker.latest_message or {}).get("entities") or [] if e.get("entity") == "address"]
        kept = address_kept(spans, tracker)
        if kept:
            return {"address": kept, **time_heard_as_address(spans, tracker)}
        return {**self._address(spans, dispatcher, tracker), **time_heard_as_address(spans, tracker)}

    def _address(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        text, _ = clean_user_text(address_span(value), max_len=200)
        if not text:  # only a time was heard as an address ("明天下午来修")
            return {"address": None}
        if latest_intent(tracker) == "affirm" and tracker.get_slot("customer_address"):
            return {"address": tracker.get_slot("customer_address")}
        earlier = last_address_given(tracker)
        said = about_address(latest_text(tracker))
        if earlier and SAME_AS_BEFORE.search(said):  # "地址一样" for a second request
            return {"address": earlier}
        refers_to_one = SAME_AS_BEFORE.search(said) or ("地址" in said and ADDRESS_ON_FILE.search(said))
        if refers_to_one and not plausible_address(said):
            # "地址就是下单那个地址": one this chat has not seen (a signed-in customer's is offered
            # with a button): say so, rather than "地址好像不太完整" (chat probe, 2026-12-07)
            on_file = tracker.get_slot("customer_address")
            if on_file:
                return {"address": on_file}
            dispatcher.utter_message(response="utter_address_not_known")
            return {"address": None}
        if only_acknowledged(text, dispatcher):
            return {"address": None}
        model = model_instead_of_address(latest_text(tracker), tracker)  # DIET's span may hold only part of it
        if model:  # "找到了 BCD-516WK" at the address question: the model, noted; the address asked again
            if not any(m.get("response") == "utter_model_noted_ask_address" for m in dispatcher.messages):
                dispatcher.utter_message(response="utter_model_noted_ask_address", model=model)
            return {"address": None, "product_model": model}
        # "…2单元501，电话15811112222": the phone is no part of the address
        text = re.sub(r"[,，\s]*(?:电话|手机|手机号|联系方式)?[:：]?\s*" + PHONE_DIGITS + r"[,，\s]*", "", text).strip(",， ") or text
        if announces_correction(text):  # "西湖区文三路478号 不对这是公司的 家里是 拱墅区莫干山路100号7幢302"
            text = address_in_answer(text, None) or text
        old = previous_value(tracker, "address")
        part = next((t for t in (text, clean_user_text(latest_text(tracker), max_len=200)[0]) if is_partial_address(t)), None)
        if old and part and old != text:
            # "门牌号错了，是602": only the part named changes, the street stays
            merged = merge_address(old, part)
            dispatcher.utter_message(response="utter_address_corrected", address=merged)
            return {"address": merged}
        if not plausible_address(text):
            # DIET's address span can be a piece of the answer ("成都市…环球中心E1区1803" ->
            # "区1803"): the whole answer it was taken from is the address then.
            whole, _ = clean_user_text(latest_text(tracker), max_len=200)
            asked = tracker.get_slot("requested_slot") == "address"  # not a whole request's text
            if asked and text and text in whole and plausible_address(whole):
                return {"address": whole}
            if not asked:
                return {"address": None}  # a stray span in a longer message: the question comes later
            dispatcher.utter_message(response="utter_invalid_address")
            return {"address": None}
        return {"address": text}

    @silent_on_reset
    def validate_appointment_time(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        now = now_local()
        # the value is a DIET `time` span or the whole answer; fall back to the whole answer only
        # when it answers the time question: in "地址是沈阳市和平区南京南街126号 …" (DIET's time span
        # "之前先") the house number was booked as the 26th (chat probe, 2026-12-07)
        asked = tracker.get_slot("requested_slot") == "appointment_time"
        span = whole_time_span(tracker, value)
        window = parse_appointment(span, now)
        negated = in_negated_clause(latest_text(tracker), span)
        if asked or negated:
            whole = parse_appointment(latest_text(tracker), now)
            if window is None or negated or (whole and window.start <= whole.start and whole.end <= window.end):
                # DIET's span is a time the customer rejects ("能改成明天上午吗 下午我不在家" booked
                # the afternoon) or the whole answer says it more exactly ("这周六下午吧 周末才在家":
                # the span "周末" was booked 09:00–18:00; chat probe, 2026-12-08)
                window = whole
        if window is None and not asked:
            return appointment_slots(None)  # not asked for, and no time in the span: nothing to say
        if window is None and only_acknowledged(str(value or ""), dispatcher):
            return appointment_slots(None)
        corrected = None if window else address_corrected_instead(tracker, dispatcher)
        if corrected:
            return {**appointment_slots(None), **corrected}
        if window is None and outside_visit_hours(tracker, value, now):
            dispatcher.utter_message(response="utter_time_outside_visit_hours", **visit_hours_text())
            return appointment_slots(None)
        if window is None:
            dispatcher.utter_message(response="utter_invalid_time")
        return appointment_slots(window)

    @silent_on_reset
    def validate_product(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        product = canonical_product(str(value or "")) or next(iter(find_products(str(value or ""))), None)
        if not product:
            dispatcher.utter_message(response="utter_invalid_product")
            return {"product": None}
        before = previous_value(tracker, "product")
        if before and before != product:
            dispatcher.utter_message(text=f"好的，已将产品更正为{product}。")
        return {"product": product}


class OnlyOurProducts:
    """Form-validator mixin (repair, installation): a request for an appliance the brand does
    not make (config/catalogue.yml not_serviced) is told so, with the products it does serve,
    and the form ends. "电视机开机没画面有声音" was asked for the product, then fell back, then
    became a complaint (chat probe, 2026-12-07)."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        from kefu.nlp.catalogue import load_catalogue

        if not tracker.get_slot("product") and tracker.get_slot("requested_slot") in (None, "product"):
            catalogue = load_catalogue()
            other = catalogue.not_serviced_product(latest_text(tracker))
            if other:
                dispatcher.utter_message(response="utter_product_not_serviced", product=other,
                                         products="、".join(catalogue.products))
                return [SlotSet("requested_slot", None), ActiveLoop(None), FollowupAction("action_listen")]
        return await super().run(dispatcher, tracker, domain)  # type: ignore[misc]


class ValidateRepairForm(OnlyOurProducts, StallWatch, SharedSlotValidation, FormValidationAction):
    def name(self) -> Text:
        return "validate_repair_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Text]:
        skip = set()
        if tracker.get_slot("emergency"):
            skip |= {"product_model", "appointment_time"}  # 抢修: dispatch now, ask less
        if verified_phone(tracker):
            skip.add("phone")
        return [s for s in domain_slots if s not in skip]

    @silent_on_reset
    def validate_fault_description(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        text, _ = clean_user_text(str(value or ""), max_len=500)
        moved = misplaced_answer(text, tracker, "fault_description")
        if moved is not None:
            return moved
        faults = find_faults(text)
        if not describes_a_fault(text):
            # e.g. just "我要报修", "洗碗机报修", "那继续吧": the form asks, or keeps what it had
            return {"fault_description": previous_value(tracker, "fault_description")}
        slots: Dict[Text, Any] = {"fault_description": text}
        if faults:
            slots["fault"] = faults[0]
        return slots


def reports_installed_fault(tracker: Tracker, kind_of: Any) -> bool:
    """Whether the message the installation form validates now reports a fault of a machine that
    is already installed ("空调装好了但是不制冷", "就是不制冷啊" to "新机安装、移机，还是拆机？"):
    a repair, not an installation (config/dialogue.yml installed_words). ``kind_of(text)`` is
    the installation kind the text names, if any. FAQs, stops and the requests that have a
    form switch of their own (report_repair among them) are left to their rules."""
    from actions.requests import reported_faults
    from actions.stall import DIGRESSIONS, validating_the_message
    from kefu.dialogue_config import dialogue_config

    form = "installation_form"
    opening = not (tracker.active_loop or {}).get("name")  # validated at activation: the request itself
    if not (opening or validating_the_message(tracker, form)):
        return False  # the form asks again after an FAQ answer: nothing new was said
    config = dialogue_config()
    intent = latest_intent(tracker) or ""
    if intent in DIGRESSIONS or config.switch_for(intent, form) is not None:
        return False
    text = latest_text(tracker)
    if not (reported_faults(text, None) or any(w in text for w in config.repair_request_words)):
        return False
    if any(w in text for w in config.installed_words):
        return True
    return tracker.get_slot("requested_slot") in (None, "install_kind") and kind_of(text) is None


def installed_fault_to_repair(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """The installation form ends and the repair form starts with the message's product (else
    the installation's, the same machine), fault and description; an emergency is triaged first,
    a fault with a first-aid tip gets it, as a repair request's opening does."""
    from actions.requests import first_aid_tip, repair_request_events

    said = len(dispatcher.messages)
    events = repair_request_events(dispatcher, tracker)
    if len(dispatcher.messages) == said:  # no emergency instruction
        dispatcher.utter_message(response="utter_installed_fault_repair")
        tip = first_aid_tip(latest_text(tracker), None)
        if tip:
            dispatcher.utter_message(response=tip)
    return events + [SlotSet("install_kind", None), SlotSet("requested_slot", None), ActiveLoop(None),
                     FollowupAction("repair_form")]


class ValidateInstallationForm(OnlyOurProducts, StallWatch, SharedSlotValidation, FormValidationAction):
    KINDS = [("移机", re.compile(r"移机|挪|搬家|新家|换个位置|换地方|移到|拆了装|拆下来装")), ("拆机", re.compile(r"拆机|拆下|拆掉|卸下")), ("新装", re.compile(r"新装|新机|安装|装机|新买|刚买|买了|来装|过来装|上门装|装一下|装个|装上|要装|帮我装|新的|全新|到货|送到了|没拆箱|还没装"))]

    OWNED_KINDS = ("移机", "拆机")  # a machine the customer already has: its 保养卡 model is confirmed

    def name(self) -> Text:
        return "validate_installation_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """A fault of an installed machine goes to the repair form: asked for the installation
        kind again and again, the customer kept describing the fault (chat probe)."""
        if reports_installed_fault(tracker, self._kind):
            return installed_fault_to_repair(dispatcher, tracker)
        return await super().run(dispatcher, tracker, domain)

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Text]:
        slots = [s for s in domain_slots if not (s == "phone" and verified_phone(tracker))]
        if "install_kind" in slots and await self._confirms_model(tracker):
            slots.insert(slots.index("install_kind") + 1, "product_model")
        return slots

    async def _confirms_model(self, tracker: Tracker) -> bool:
        """Moving or removing a machine of a signed-in customer who registered one of that product."""
        if tracker.get_slot("product_model"):
            return True
        product = tracker.get_slot("product")
        if not product or tracker.get_slot("install_kind") not in self.OWNED_KINDS:
            return False
        return any(p["model"] for p in await registered_products(tracker, product))

    async def extract_product_model(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        """The answer to the model question (domain.yml maps free text to it in the repair form only)."""
        if tracker.get_slot("requested_slot") != "product_model" or tracker.get_slot("product_model"):
            return {}
        if latest_intent(tracker) in _not_intents(domain, "product_model"):
            return {}
        text = latest_text(tracker).strip()
        return {"product_model": text} if text else {}

    async def extract_install_kind(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if tracker.get_slot("install_kind"):
            return {}
        kind = self._kind(latest_text(tracker))
        return {"install_kind": kind} if kind else {}

    def _kind(self, text: str) -> Optional[str]:
        return next((kind for kind, pattern in self.KINDS if pattern.search(text or "")), None)

    @silent_on_reset
    def validate_install_kind(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        kind = self._kind(str(value or ""))
        if not kind and already_said(tracker, "utter_invalid_install_kind"):
            # a second answer that names no kind: most bookings are new machines, and the kind is
            # checked on the phone anyway (the question came five times in a row; chat probe)
            dispatcher.utter_message(response="utter_install_kind_assumed")
            return {"install_kind": "新装"}
        if not kind:  # a short hint; the form asks again with the buttons (not the question twice)
            dispatcher.utter_message(response="utter_invalid_install_kind")
            return {"install_kind": None}
        return {"install_kind": kind}


class ValidateComplaintForm(StallWatch, SharedSlotValidation, FormValidationAction):
    def name(self) -> Text:
        return "validate_complaint_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Text]:
        return [s for s in domain_slots if not (s == "phone" and verified_phone(tracker))]

    async def extract_complaint_detail(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        """What the customer adds at a later question is kept, not dropped: more of what happened
        ("空调装歪了 外机也没固定好" to the demand question, "而且他还把地板弄脏了" to the phone
        question) goes into the complaint, a wish at the phone question ("重新安装 再给个说法")
        into its demand; the customer is told, and the question comes again (widget chat,
        2026-12-08: the first became the demand, the other two were lost)."""
        added = more_said_in_complaint(tracker)
        if added:
            dispatcher.utter_message(response="utter_complaint_detail_noted")
        return added

    @silent_on_reset
    def validate_complaint_detail(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        text, _ = clean_user_text(str(value or ""), max_len=1000)
        old = previous_value(tracker, "complaint_detail")
        if old and text.startswith(old) and (REFERENCE_NOTE in text[len(old):] or text[len(old):].startswith(MORE_SAID)):
            return {"complaint_detail": text}  # a ticket number noted in it, or more the customer said
        if old and tracker.get_slot("requested_slot") != "complaint_detail":
            return {"complaint_detail": old}  # an angry demand later on is not the complaint itself
        if len(FILLER.sub("", text)) < 4:
            return {"complaint_detail": None}  # "我要投诉" alone: ask what happened
        return {"complaint_detail": text}

    async def extract_complaint_demand(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if not tracker.get_slot("complaint_demand") and tracker.get_slot("requested_slot") in (None, "complaint_detail"):
            # "…还多收了100块，我要求退钱并道歉": the complaint says what the customer wants, so the
            # form does not ask for it (widget chat, 2026-12-07: it asked, and the customer's
            # next details were taken as the demand)
            demand = demand_in_complaint(clean_user_text(latest_text(tracker), max_len=500)[0])
            if demand:
                return {"complaint_demand": demand}
        return statement_heard_as_faq(tracker, "complaint_demand")

    @silent_on_reset
    def validate_complaint_demand(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        text, _ = clean_user_text(str(value or ""), max_len=500)
        moved = misplaced_answer(text, tracker, "complaint_demand")
        if moved is not None:
            return moved
        if tracker.get_slot("requested_slot") == "complaint_demand" and tells_more_of_the_complaint(text):
            return {"complaint_demand": None}  # more of what happened (extract_complaint_detail): asked again
        if not NOTHING_MORE.match(text) and only_acknowledged(text, dispatcher):  # "没有": no demand, an answer
            return {"complaint_demand": None}
        return {"complaint_demand": text or None}


class ValidateReturnForm(StallWatch, SharedSlotValidation, FormValidationAction):
    KINDS = [("换货", re.compile(r"换货|换一台|换个|换新|调换|更换")), ("退款", re.compile(r"仅退款|退款|退钱|退费")), ("退货", re.compile(r"退货|退掉|退回|不要了|退了"))]

    def name(self) -> Text:
        return "validate_return_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Text]:
        return [s for s in domain_slots if not (s == "phone" and verified_phone(tracker))]

    async def extract_return_kind(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if tracker.get_slot("return_kind"):
            return {}
        kind = self._kind(latest_text(tracker))
        return {"return_kind": kind} if kind else {}

    def _kind(self, text: str) -> Optional[str]:
        return next((kind for kind, pattern in self.KINDS if pattern.search(text or "")), None)

    @silent_on_reset
    async def validate_order_no(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        order_no = extract_order_no(str(value or ""))
        if order_no:
            return {"order_no": order_no, **await self._returned_product(dispatcher, tracker, order_no)}
        if value == NO_ORDER_NO:
            return {"order_no": NO_ORDER_NO}
        moved = misplaced_answer(str(value or ""), tracker, "order_no")
        if moved is not None and "phone" in moved:
            # "13508762291" at the order question was filed as another shop's order number
            # (chat probe, 2026-12-07): it is the phone; the order question comes again
            dispatcher.utter_message(response="utter_phone_is_no_order_no")
            return moved
        if says_no_order_no(latest_text(tracker)):  # "没有订单号，是在门店买的"
            dispatcher.utter_message(response="utter_no_order_no_ok")
            return {"order_no": NO_ORDER_NO}
        if DONT_KNOW.search(latest_text(tracker)):
            return await self._forgotten_order_no(dispatcher, tracker)
        typed = str(value or "").strip()
        external = OTHER_SHOP_ORDER.search(typed.upper())
        if external or already_said(tracker, "utter_invalid_order_no") or already_said(tracker, "utter_phone_is_no_order_no"):
            # another shop's number, or ours mistyped twice: go on, the after-sales team matches it
            dispatcher.utter_message(response="utter_order_no_elsewhere" if external else "utter_no_order_no_ok")
            return {"order_no": NO_ORDER_NO, "external_order_no": external.group(0) if external else None}
        dispatcher.utter_message(response="utter_invalid_order_no")
        return {"order_no": None}

    async def _returned_product(self, dispatcher: CollectingDispatcher, tracker: Tracker, order_no: str) -> Dict[Text, Any]:
        """A signed-in owner's order names the product: confirm it with its model (the order's,
        else the one 保养卡 of that product) and record both on the ticket. Anyone else's
        order number reveals nothing here (the submit checks it against the typed phone)."""
        from actions.common import with_session
        from kefu.services import orders

        customer_id = verified_customer_id(tracker)
        if customer_id is None:
            return {}
        try:
            items = await with_session(lambda s: orders.get_order_for_customer(s, order_no, customer_id=customer_id).items)
        except Exception:  # not theirs, or not found: the submit says so
            return {}
        products = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
        names = {canonical_product(str(i.get("product") or i.get("name") or "")) for i in products}
        if len(products) != 1 or None in names:
            return {}
        product = names.pop()
        model = str(products[0].get("model") or "") or None
        if model is None:
            cards = [p["model"] for p in await registered_products(tracker, product) if p["model"]]
            model = cards[0] if len(cards) == 1 else None
        what = f"{product} {model}" if model else product
        dispatcher.utter_message(text=f"好的，为您办理订单 {order_no} 里的{what}。")
        return {"product": product, "product_model": model}

    async def _forgotten_order_no(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        """A signed-in customer picks one of their recent orders; anyone else may go on without it."""
        recent = await recent_order_buttons(tracker)
        if recent:
            recent.append({"title": "都不是，不填订单号", "payload": NO_ORDER_NO})
            dispatcher.utter_message(response="utter_pick_recent_order", buttons=recent)
            return {"order_no": None}
        dispatcher.utter_message(response="utter_no_order_no_ok")
        return {"order_no": NO_ORDER_NO}

    async def extract_return_reason(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if not tracker.get_slot("return_reason") and tracker.get_slot("requested_slot") is None:
            reason = self._reason_in_request(latest_text(tracker))
            if reason:  # "冰箱想退货 一直嗡嗡响 晚上吵得睡不着" was asked why (chat probe, 2026-12-08)
                return {"return_reason": reason}
        return statement_heard_as_faq(tracker, "return_reason")

    def _reason_in_request(self, text: str) -> Optional[str]:
        """The clauses of a return request that say why: not the wish itself, and only a fault or
        a defect ("一直嗡嗡响", "门关不严", "发错颜色了")."""
        clauses = [c for c in re.split(r"[，,。.；;！!？?、\s]+", clean_user_text(text, max_len=500)[0]) if c]
        rest = [c for c in clauses if not any(pattern.search(c) for _, pattern in self.KINDS) and not RETURN_WISH.search(c)]
        reason = "，".join(rest)
        return reason if rest and (find_faults(reason) or RETURN_REASON_WORDS.search(reason)) else None

    @silent_on_reset
    def validate_return_kind(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        kind = self._kind(str(value or ""))
        return {"return_kind": kind}

    @silent_on_reset
    def validate_return_reason(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        text, _ = clean_user_text(str(value or ""), max_len=500)
        moved = misplaced_answer(text, tracker, "return_reason")
        if moved is not None:
            return moved
        bare = FILLER.sub("", text)
        if bare in ("退货", "换货", "退款", "退", "换", "退钱"):  # the kind again, not why (chat probe)
            return {"return_reason": None, "return_kind": self._kind(text) or tracker.get_slot("return_kind")}
        if only_acknowledged(text, dispatcher):
            return {"return_reason": None}
        return {"return_reason": text if len(text) >= 2 else None}


class EndsWhenNumberUnknown:
    """Form-validator mixin for the look-ups: when the number is not known ("忘了", or a second
    answer that is no number) and there are no recent ones to pick from, the customer hears
    where to find it and gets a button to a person, and the look-up ends. It used to ask for
    the number again whatever was typed, turn after turn (chat probe, 2026-12-07)."""

    unknown_response = ""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        events = await super().run(dispatcher, tracker, domain)  # type: ignore[misc]
        if any(message.get("response") == self.unknown_response for message in dispatcher.messages):
            return events + [SlotSet("requested_slot", None), ActiveLoop(None), FollowupAction("action_listen")]
        return events


class ValidateTicketLookupForm(EndsWhenNumberUnknown, StallWatch, SharedSlotValidation, FormValidationAction):
    unknown_response = "utter_ticket_no_unknown"

    def name(self) -> Text:
        return "validate_ticket_lookup_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Text]:
        if misread_repair_opening(tracker) or misread_address_correction(tracker):
            return []  # nothing to ask: action_ticket_operation hands it to the repair form / the correction
        skip = set() if tracker.get_slot("ticket_op") == "reschedule" else {"appointment_time"}
        if verified_customer_id(tracker) is not None:
            skip.add("phone")
        return [s for s in domain_slots if s not in skip]

    async def extract_ticket_no(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        """The request's own message names the ticket, even in a form the NLU did not see
        ("BX202611220042" without its dash); else "查一下刚才那个工单" right after a ticket:
        the ticket this conversation told the customer about (last_ticket_no)."""
        if tracker.get_slot("ticket_no") or tracker.get_slot("requested_slot"):
            return {}
        typed = extract_ticket_no(latest_text(tracker))
        if typed:  # "查一下工单 BX202611220042": a number the NLU's pattern (with its dash) missed
            return {"ticket_no": typed}
        told = tracker.get_slot("last_ticket_no")
        products = find_products(latest_text(tracker))
        if products:
            # "刚才修油烟机那个单子师傅几点来" with two tickets in the chat showed the other one
            # (chat probe, 2026-12-08): the ticket for that product, else the number is asked for
            from actions.common import with_session
            from kefu.services import tickets

            try:
                meant = await with_session(lambda s: tickets.ticket_for_product(s, tracker.sender_id, products[0], told))
            except Exception:  # the question for the number comes instead
                meant = None
            return {"ticket_no": meant} if meant else {}
        return {"ticket_no": told} if told else {}

    @silent_on_reset
    async def validate_ticket_no(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        text = str(value or "")
        ticket_no = extract_ticket_no(text)
        if not ticket_no and (DONT_KNOW.search(text) or already_said(tracker, "utter_invalid_ticket_no")):
            await ticket_no_unknown(dispatcher, tracker)
        elif not ticket_no:
            dispatcher.utter_message(response="utter_invalid_ticket_no")
        return {"ticket_no": ticket_no}


TICKET_INTENTS = ("query_ticket", "urge_ticket", "cancel_ticket", "reschedule_ticket")


def misread_repair_opening(tracker: Tracker) -> bool:
    """The ticket look-up was opened (no question asked yet, no ticket known) by a message that
    is really a new repair request (kefu.dialogue_config.misread_repair_request)."""
    from kefu.dialogue_config import dialogue_config, misread_repair_request

    text = latest_text(tracker)
    if tracker.get_slot("last_ticket_no") and any(word in text for word in dialogue_config().urge_words):
        return False  # "好的 麻烦快点 东西都要坏了" right after the ticket urges it (chat probe, 2026-12-07)
    return (not tracker.get_slot("ticket_no") and not tracker.get_slot("requested_slot")
            and latest_intent(tracker) in TICKET_INTENTS and misread_repair_request(text))


def misread_address_correction(tracker: Tracker) -> bool:
    """"地址改一下，改成…" right after the conversation's ticket was read as a reschedule (改): a
    correction of that ticket's address (chat probe: it asked for a new visit time)."""
    text = latest_text(tracker)
    return (bool(tracker.get_slot("last_ticket_no")) and not tracker.get_slot("requested_slot")
            and latest_intent(tracker) in TICKET_INTENTS and "地址" in text and plausible_address(text)
            and not extract_ticket_no(text))


async def ticket_no_unknown(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """"单号忘了": a signed-in customer picks one of their recent tickets; anyone else hears
    where the number is and may have a person check the phone number (a ticket's details are
    never shown for a phone number alone)."""
    from kefu.services import tickets

    recent = await recent_buttons(tracker, lambda s, customer_id: [
        (t.ticket_no, t.product or "") for t in tickets.list_recent_tickets(s, customer_id, limit=3)])
    pick_or_ask_a_person(dispatcher, recent, "utter_pick_recent_ticket", "utter_ticket_no_unknown")


def pick_or_ask_a_person(dispatcher: CollectingDispatcher, recent: List[Dict[str, Any]], pick: str, unknown: str) -> None:
    """A forgotten number: the customer's recent ones to pick from, else where to find it and
    a button to a person (who can check the phone number)."""
    if recent:
        dispatcher.utter_message(response=pick, buttons=recent)
    else:
        dispatcher.utter_message(response=unknown, buttons=[{"title": "转人工客服", "payload": "/request_human"}])


async def recent_buttons(tracker: Tracker, list_recent: Any) -> List[Dict[str, Any]]:
    """A signed-in customer's recent tickets or orders as buttons (none for anyone else, or
    when the look-up fails: the way forward without the number still works).
    ``list_recent(session, customer_id)`` gives (number, description) pairs."""
    from actions.common import with_session

    customer_id = verified_customer_id(tracker)
    if customer_id is None:
        return []
    try:
        recent = await with_session(lambda s: list_recent(s, customer_id))
    except Exception:
        return []
    return [{"title": f"{number} {about}".strip(), "payload": number} for number, about in recent]


class ValidateOrderLookupForm(EndsWhenNumberUnknown, StallWatch, SharedSlotValidation, FormValidationAction):
    unknown_response = "utter_order_no_unknown"

    def name(self) -> Text:
        return "validate_order_lookup_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Text]:
        return [s for s in domain_slots if not (s == "phone" and verified_customer_id(tracker) is not None)]

    @silent_on_reset
    async def validate_order_no(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        """A look-up needs the number itself (the return form's "go on without it" and its
        product confirmation do not apply): a forgotten number gets a signed-in customer's
        recent orders to pick from, anyone else where to find it and a way to a person."""
        order_no = extract_order_no(str(value or ""))
        if order_no:
            return {"order_no": order_no}
        if DONT_KNOW.search(latest_text(tracker)) or already_said(tracker, "utter_invalid_order_no"):
            pick_or_ask_a_person(dispatcher, await recent_order_buttons(tracker), "utter_pick_recent_order", "utter_order_no_unknown")
            return {"order_no": None}
        dispatcher.utter_message(response="utter_invalid_order_no")
        return {"order_no": None}


async def recent_order_buttons(tracker: Tracker) -> List[Dict[str, Any]]:
    """A signed-in customer's three latest orders as buttons (none for anyone else)."""
    from kefu.services import orders

    return await recent_buttons(tracker, lambda s, customer_id: [
        (o.order_no, _items_text(o.items)) for o in orders.list_recent_orders(s, customer_id, limit=3)])


class ValidateSurveyForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_survey_form"

    @silent_on_reset
    def validate_satisfaction_score(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        score = parse_score(str(value or ""))
        if score is None:
            dispatcher.utter_message(response="utter_invalid_score")
            return {"satisfaction_score": None}
        return {"satisfaction_score": str(score)}

    @silent_on_reset
    def validate_satisfaction_comment(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        text, _ = clean_user_text(str(value or ""), max_len=500)
        return {"satisfaction_comment": "无" if not text or NOTHING_MORE.match(text) else text}


def parse_score(text: str) -> Optional[int]:
    """1-5 from '5', '五分', '4星', '非常满意', ..."""
    digits = re.findall(r"(?<!\d)([1-5])(?!\d)", text)
    if digits:
        return int(digits[0])
    for char, score in CN_SCORE.items():
        if re.search(char + r"\s*[分星颗]", text):
            return score
    for pattern, score in SCORE_WORDS:
        if pattern.search(text):
            return score
    return None


class ValidateCallbackForm(SharedSlotValidation, FormValidationAction):
    def name(self) -> Text:
        return "validate_callback_form"


class ValidateSuggestionForm(FormValidationAction):
    """The suggestion itself, asked for after "我有个建议" (actions/requests.py ActionSubmitSuggestion)."""

    def name(self) -> Text:
        return "validate_suggestion_form"

    def validate_suggestion_text(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        from kefu.dialogue_config import says_only_it_has_a_suggestion

        text, _ = clean_user_text(str(value or ""), max_len=500)
        if not text or only_acknowledged(text, dispatcher) or says_only_it_has_a_suggestion(text):
            return {"suggestion_text": None}
        return {"suggestion_text": text}


def _not_intents(domain: DomainDict, slot: str) -> List[str]:
    """Intents that never fill ``slot`` from free text: its from_text mapping's ``not_intent`` in domain.yml."""
    mappings = ((domain.get("slots") or {}).get(slot) or {}).get("mappings") or []
    return next((list(m.get("not_intent") or []) for m in mappings if m.get("type") == "from_text"), [])


def _items_text(items: Any) -> str:
    if isinstance(items, list):
        names = [str(i.get("name") or i.get("product") or "") if isinstance(i, dict) else str(i) for i in items]
        return "、".join(n for n in names if n)[:20]
    return str(items or "")[:20]


def validator_for(form: str) -> Optional[FormValidationAction]:
    """The validation action of ``form`` (validate_<form>), if Kefu has one."""
    validators = [ValidateRepairForm, ValidateInstallationForm, ValidateComplaintForm, ValidateReturnForm,
                  ValidateTicketLookupForm, ValidateOrderLookupForm, ValidateCallbackForm, ValidateSuggestionForm]
    return next((cls() for cls in validators if cls().name() == f"validate_{form}"), None)
