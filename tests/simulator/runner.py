"""Play generated conversations (generator.py) against the real stack and check invariants.

Talks to Rasa's REST channel like any internal caller, reads each conversation's tracker
(Rasa HTTP API) to see which question the bot is asking and which actions ran, and reads
the service DB to check the tickets. Invariants, every turn:

- ``too_many_messages``: more than max_bot_messages_per_turn bot messages;
- ``no_reply``: a customer message got no bot message at all (unless the conversation
  is with a human agent, paused);
- ``courtesy_fallback`` / ``courtesy_handoff``: a courtesy turn got a fallback, or a
  handoff / call-back;
and per conversation:
- ``ticket_not_told``: a ticket of the conversation whose number the customer never saw;
- ``told_ticket_missing``: a ticket number the bot told that is not in the DB;
- ``ticket_count``: a completed form left other than exactly one ticket of its type;
- ``form_not_completed``: every answer of a form was given, yet no ticket;
- ``form_stuck``: the bot asked the same question again and again for a valid answer;
- ``form_derailed``: a plain answer to a form question switched the bot into another form.

The two-stage fallback ("小暖想确认一下，您是要…吗？" with buttons) is Rasa's loop
``action_two_stage_fallback``: while it asks, the form's ``requested_slot`` stays set. The
runner answers that question once, as a customer would: it presses the button naming its
own request when one is offered, otherwise it leaves the script (it never sends its last
message again). When the customer's reply clarifies the message, Rasa logs that message a
second time (``_message_clarification``): ``split_turns`` keeps it in the same turn.
Fallback turns are read from the tracker's events (``is_fallback_turn``), not from reply texts.
"""
from __future__ import annotations

import datetime as dt
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import httpx
from sqlalchemy import select

from kefu import db, settings
from kefu.models.service import Ticket

from tests.simulator.generator import FORMS, LOOKUPS, Plan

TICKET_NO = re.compile(r"[A-Z]{2}\d{8}-\d{4,}")
TWO_STAGE = "action_two_stage_fallback"
# A fallback question the customer saw (bot events carry the response name as utter_action; the
# two-stage loop runs ask-affirmation / rephrase / the give-up inside itself, so only their
# responses, never their action names, are in the tracker).
FALLBACK_RESPONSES = {"utter_ask_affirmation", "utter_ask_rephrase", "utter_default", "utter_fallback_offer_human"}
# The request each scenario's customer came with: the two-stage button they press.
REQUEST_INTENTS = {"repair": "report_repair", "installation": "request_installation", "complaint": "complain",
                   "return": "request_return", "query_ticket": "query_ticket", "urge_ticket": "urge_ticket",
                   "cancel_ticket": "cancel_ticket", "human": "request_human"}
MAX_CONFIRMS = 2  # two-stage questions a customer answers with a button in one conversation
# A hand-off or call-back started on the turn (a call-back form already asking goes on: not new).
HANDOFF_ACTIONS = {"action_escalate", "action_book_callback", "activate:callback_form"}
SUBMIT_ACTIONS = {"action_submit_repair": "repair", "action_submit_installation": "installation",
                  "action_submit_complaint": "complaint", "action_submit_return": "return"}
FORM_OF = {"repair": "repair_form", "installation": "installation_form", "complaint": "complaint_form",
           "return": "return_form"}
MAX_TURNS = 24
STUCK_AFTER = 3  # the same question asked this many times after a valid answer


def example_ticket_numbers() -> set:
    """Ticket numbers written in the domain's own texts (examples such as BX20261122-0042)."""
    return set(TICKET_NO.findall((settings.repo_root() / "domain.yml").read_text(encoding="utf-8")))


@dataclass
class Turn:
    text: str
    kind: str  # opener | answer | courtesy | correction | digression_faq | noise | abandon | lookup | confirm
    replies: List[str] = field(default_factory=list)
    actions: List[str] = field(default_factory=list)  # from the tracker (TrackerTurn.actions)
    bot_messages: int = 0
    fallback: bool = False  # from the tracker (is_fallback_turn)
    metadata: Dict[str, Any] = field(default_factory=dict)  # sent with the message (a button's display_text)


@dataclass
class Violation:
    kind: str
    sender: str
    seed: int
    index: int
    turn: Optional[int]
    detail: str

    def __str__(self) -> str:
        where = f"turn {self.turn}" if self.turn is not None else "conversation"
        return f"[{self.kind}] seed={self.seed} conversation={self.index} ({self.sender}) {where}: {self.detail}"


@dataclass
class Result:
    plan: Plan
    turns: List[Turn]
    violations: List[Violation]
    paused: bool = False


@dataclass
class Report:
    results: List[Result]

    @property
    def violations(self) -> List[Violation]:
        return [v for r in self.results for v in r.violations]

    def by_kind(self) -> Counter:
        return Counter(v.kind for v in self.violations)

    def content_turns(self) -> List[Turn]:
        return [t for r in self.results for t in r.turns if t.kind in ("opener", "answer", "lookup", "correction",
                                                                       "digression_faq", "human")
                and not (r.plan.scenario == "courtesy_only" and t.kind == "opener")]

    def fallback_rate(self) -> float:
        """Share of content turns on which a fallback ran (tracker events, see is_fallback_turn)."""
        turns = self.content_turns()
        return sum(1 for t in turns if t.fallback) / max(len(turns), 1)

    def summary(self) -> str:
        turns = sum(len(r.turns) for r in self.results)
        content = self.content_turns()
        confirms = sum(1 for r in self.results for t in r.turns if t.kind == "confirm")
        lines = [f"conversations: {len(self.results)}  turns: {turns}  content turns: {len(content)}",
                 f"fallback rate on content turns: {self.fallback_rate():.2%} "
                 f"({sum(1 for t in content if t.fallback)} turns with a fallback in the tracker)",
                 f"two-stage questions answered with the customer's own request button: {confirms}",
                 f"violations: {len(self.violations)}"]
        for kind, n in sorted(self.by_kind().items()):
            lines.append(f"  {kind}: {n}")
            for v in [v for v in self.violations if v.kind == kind][:3]:
                lines.append(f"    e.g. {v}")
        return "\n".join(lines)


@dataclass
class LookupTicket:
    ticket_no: str
    phone: str


@dataclass
class Prepared:
    """What the DB holds before the run: tickets to look up and orders to return."""

    tickets: List[LookupTicket]
    orders: List[Tuple[str, str]]  # (order_no, phone of its customer)


def prepare(db_url: str, now: dt.datetime, phones: List[str], count: int = 6) -> Prepared:
    """Tickets for the lookup conversations (query / urge / cancel), numbered by the DB itself,
    and delivered orders for the return conversations, one of each per phone of the pools."""
    from kefu.models.service import Order
    from kefu.services import customers, tickets

    made, orders = [], []
    with db.session_scope(db_url) as session:
        for i in range(count):
            phone = re.sub(r"\D", "", phones[i % len(phones)])[-11:]
            request = tickets.TicketRequest(type="repair", phone=phone, product="空调", fault="不制冷",
                                            description="模拟器准备的工单", address="北京市海淀区中关村大街1号",
                                            conversation_id=f"sim-prep-{i}", channel="simulator",
                                            idempotency_key=f"sim-prep-{now:%Y%m%d}-{i}")
            made.append(LookupTicket(tickets.create_ticket(session, request, now=now).ticket.ticket_no, phone))
        for i, raw in enumerate(phones):
            phone = re.sub(r"\D", "", raw)[-11:]
            customer, _ = customers.get_or_create_customer(session, phone)
            order_no = f"DD{now:%Y%m%d}9{i:03d}"
            if session.execute(select(Order).where(Order.order_no == order_no)).scalar_one_or_none() is None:
                ordered = now - dt.timedelta(days=5)
                session.add(Order(order_no=order_no, customer=customer, status="已完成", shipping_status="已签收",
                                  items=[{"product": "冰箱", "model": "BCD-520W", "quantity": 1, "unit_price": 399900}],
                                  total_amount=399900, ordered_at=ordered, paid_at=ordered,
                                  shipped_at=ordered + dt.timedelta(days=1), delivered_at=ordered + dt.timedelta(days=3),
                                  updated_at=ordered + dt.timedelta(days=3)))
            orders.append((order_no, raw))
    return Prepared(made, orders)


class Runner:
    def __init__(self, rasa_url: str, rest_token: str, rasa_token: str, db_url: str, prepared: Prepared,
                 max_messages: int = 4) -> None:
        self.rasa_url, self.db_url = rasa_url, db_url
        self.rest_headers = {"Authorization": f"Bearer {rest_token}"}
        self.rasa_token = rasa_token
        self.lookup_tickets = prepared.tickets
        self.orders = prepared.orders
        self.max_messages = max_messages
        self.examples = example_ticket_numbers()
        self._local = threading.local()

    @property
    def http(self) -> httpx.Client:
        if not hasattr(self._local, "client"):
            self._local.client = httpx.Client(timeout=120)
        return self._local.client

    # --- talking ------------------------------------------------------------------
    def say(self, plan: Plan, turn: Turn) -> Turn:
        body: Dict[str, Any] = {"sender": plan.sender, "message": turn.text}
        if turn.metadata:
            body["metadata"] = turn.metadata
        r = self.http.post(f"{self.rasa_url}/webhooks/rest/webhook", headers=self.rest_headers, json=body)
        r.raise_for_status()
        turn.replies = [m.get("text") or "" for m in r.json()]
        return turn

    def state(self, plan: Plan) -> Dict[str, Any]:
        r = self.http.get(f"{self.rasa_url}/conversations/{plan.sender}/tracker",
                          params={"token": self.rasa_token, "include_events": "NONE"})
        r.raise_for_status()
        tracker = r.json()
        return {"loop": (tracker.get("active_loop") or {}).get("name"),
                "requested": tracker["slots"].get("requested_slot"), "paused": bool(tracker.get("paused"))}

    def offered_buttons(self, plan: Plan) -> List[Dict[str, Any]]:
        """The buttons of the bot's latest message (the two-stage question's choices)."""
        for event in reversed(self.events(plan)):
            if event.get("event") == "user":
                return []
            if event.get("event") == "bot":
                return list((event.get("data") or {}).get("buttons") or [])
        return []

    def confirmation(self, plan: Plan) -> Optional[Turn]:
        """The customer's one answer to a pending two-stage question: the button naming
        their own request, or None (not offered: they leave the script)."""
        intent = REQUEST_INTENTS.get(plan.scenario)
        for button in self.offered_buttons(plan) if intent else []:
            if button.get("payload") == f"/{intent}":
                return Turn(button["payload"], "confirm", metadata={"display_text": button.get("title") or ""})
        return None

    def events(self, plan: Plan) -> List[Dict[str, Any]]:
        r = self.http.get(f"{self.rasa_url}/conversations/{plan.sender}/tracker", params={"token": self.rasa_token})
        r.raise_for_status()
        return r.json()["events"]

    # --- playing a plan -------------------------------------------------------------
    def play(self, plan: Plan) -> Result:
        if plan.scenario == "return" and self.orders:  # an order the DB has, with its customer's phone
            order_no, phone = self.orders[plan.lookup_pick % len(self.orders)]
            if "{order_no}" in plan.answers["order_no"]:
                plan.answers["order_no"] = plan.answers["order_no"].format(order_no=order_no)
                plan.answers["phone"] = phone
        turns: List[Turn] = [self.say(plan, Turn(plan.opener, "opener"))]
        completed_answers = False
        step, last_requested, repeats = 0, None, 0
        pending = sorted(plan.interjections, key=lambda i: i.before_step)
        lookup = self.lookup_tickets[plan.lookup_pick % len(self.lookup_tickets)] if self.lookup_tickets else None
        stuck = derailed = None
        confirms = 0
        while len(turns) < MAX_TURNS:
            state = self.state(plan)
            if state["paused"]:
                break
            if state["loop"] == TWO_STAGE:
                # "您是要…吗？": answered once. (Its requested_slot is the form's, still set:
                # answering that slot again would send the last message a second time.)
                confirm = self.confirmation(plan) if confirms < MAX_CONFIRMS else None
                if confirm is None:
                    break
                confirms += 1
                turns.append(self.say(plan, confirm))
                last_requested, repeats = None, 0
                continue
            slot = state["requested"] if state["loop"] else None
            expected = FORM_OF.get(plan.scenario)
            if slot and expected and state["loop"] != expected:
                derailed = state["loop"]
                break
            if not slot:
                completed_answers = step > 0
                break
            step += 1
            if slot == last_requested:
                repeats += 1
                if repeats >= STUCK_AFTER:
                    stuck = slot
                    break
            else:
                last_requested, repeats = slot, 0
            if plan.abandon_at is not None and step == plan.abandon_at:
                turns.append(self.say(plan, Turn(plan.abandon_text, "abandon")))
                break
            interjected = False
            while pending and pending[0].before_step <= step:
                extra = pending.pop(0)
                turns.append(self.say(plan, Turn(extra.text, extra.kind)))
                interjected = True
                if extra.kind == "correction":
                    plan.answers["product"] = plan.correction_product
            if interjected:
                after = self.state(plan)
                if after["paused"] or after["loop"] != state["loop"] or after["requested"] != slot:
                    last_requested, repeats = None, 0
                    continue  # the interjection changed the question (or ended the form)
            answer = self.answer(plan, slot, lookup)
            if answer is None:
                stuck = slot
                break
            turns.append(self.say(plan, Turn(answer, "lookup" if plan.scenario in LOOKUPS else "answer")))
        paused = self.state(plan)["paused"]
        if not paused:
            for kind, text in plan.tail:
                turns.append(self.say(plan, Turn(text, kind)))
                if kind == "human":
                    after = self.state(plan)
                    if after["paused"]:
                        paused = True  # with an agent now: the bot stays quiet
                        break
                    if after["loop"] == "callback_form" and after["requested"] == "phone":
                        turns.append(self.say(plan, Turn(plan.answers["phone"], "answer")))
        result = Result(plan, turns, [], paused)
        self.check(result, completed_answers, stuck)
        if derailed:
            result.violations.append(Violation("form_derailed", plan.sender, plan.seed, plan.index, len(turns) - 1,
                                               f"{plan.scenario} answers led into {derailed}: "
                                               f"{[(t.text[:40], t.replies) for t in turns]}"))
        return result

    def answer(self, plan: Plan, slot: str, lookup: Optional[LookupTicket]) -> Optional[str]:
        if slot == "ticket_no":
            return lookup.ticket_no if lookup else None
        if slot == "phone" and plan.scenario in LOOKUPS and lookup:
            return plan.answers["ticket_query_phone"].format(phone=lookup.phone)
        if slot == "fault":
            slot = "fault_description"
        return plan.answers.get(slot)

    # --- invariants -------------------------------------------------------------------
    def check(self, result: Result, completed_answers: bool, stuck: Optional[str]) -> None:
        plan, turns = result.plan, result.turns
        v = result.violations

        def add(kind: str, turn: Optional[int], detail: str) -> None:
            v.append(Violation(kind, plan.sender, plan.seed, plan.index, turn, detail))

        per_turn = iter(split_turns(self.events(plan)))
        for turn in turns:
            if turn.text.strip():  # an empty message is answered by the channel, never reaches the tracker
                tracked = next(per_turn, TrackerTurn())
                turn.actions, turn.bot_messages, turn.fallback = tracked.actions, tracked.bot_messages, is_fallback_turn(tracked)
        for i, turn in enumerate(turns):
            if len(turn.replies) > self.max_messages or turn.bot_messages > self.max_messages:
                add("too_many_messages", i, f"{turn.text[:40]!r} -> {max(len(turn.replies), turn.bot_messages)} messages")
            if not turn.replies:
                add("no_reply", i, f"{turn.text[:40]!r} got no reply (actions {turn.actions})")
            if turn.kind == "courtesy" or (plan.scenario == "courtesy_only" and turn.kind == "opener"):
                if "action_default_fallback" in turn.actions or FALLBACK_RESPONSES & responses(turn.actions):
                    add("courtesy_fallback", i, f"{turn.text!r} -> {turn.actions}")
                if HANDOFF_ACTIONS & set(turn.actions):
                    add("courtesy_handoff", i, f"{turn.text!r} -> {turn.actions}")
        if stuck:
            add("form_stuck", len(turns) - 1, f"asked for {stuck!r} again and again: "
                f"{[(t.text[:40], t.replies) for t in turns[-3:]]}")
        told = {n for t in turns for r in t.replies for n in TICKET_NO.findall(r)}
        typed = {n for t in turns for n in TICKET_NO.findall(t.text)}
        told -= self.examples | typed
        with db.session_scope(self.db_url) as session:
            mine = [(t.ticket_no, t.type) for t in session.execute(
                select(Ticket).where(Ticket.conversation_id == plan.sender)).scalars()]
            existing = set(session.execute(select(Ticket.ticket_no).where(Ticket.ticket_no.in_(told))).scalars()) if told else set()
        for number, _ in mine:
            if number not in told:
                add("ticket_not_told", None, f"ticket {number} was never shown to the customer")
        for number in sorted(told - existing):
            add("told_ticket_missing", None, f"the customer was told {number}, which is not in the DB")
        submitted = Counter(SUBMIT_ACTIONS[a] for t in turns for a in t.actions if a in SUBMIT_ACTIONS)
        by_type = Counter(kind for _, kind in mine)
        for kind in submitted:
            if by_type[kind] != 1 and FORMS.get(plan.scenario) == kind:
                add("ticket_count", None, f"{kind} form submitted, {by_type[kind]} {kind} tickets in the DB")
        form = FORMS.get(plan.scenario)
        if form and completed_answers and plan.abandon_at is None and not result.paused and by_type[form] == 0 \
                and not stuck:
            add("form_not_completed", None, f"all answers given, no {form} ticket: "
                f"{[(t.text[:40], t.replies) for t in turns]}")


@dataclass
class TrackerTurn:
    """What the tracker holds for one customer message.

    ``actions``: the actions run (not action_listen), "activate:<loop>" for a loop started,
    "utter:<response>" for a bot message sent from a domain response."""

    actions: List[str] = field(default_factory=list)
    bot_messages: int = 0
    clarified: bool = False  # the two-stage fallback took this message as the clarification


def responses(actions: List[str]) -> set:
    return {a[len("utter:"):] for a in actions if a.startswith("utter:")}


def split_turns(events: List[Dict[str, Any]]) -> List[TrackerTurn]:
    """One TrackerTurn per customer message, in order.

    When a message clarifies a pending two-stage question, Rasa reverts it and logs the same
    message again (same message_id): that second copy is the same turn, not a new one."""
    turns: List[TrackerTurn] = []
    message_id = None
    reverted = False
    for event in events:
        kind = event.get("event")
        if kind == "user":
            same = turns and reverted and event.get("message_id") is not None and event.get("message_id") == message_id
            if same:
                turns[-1].clarified = True
            else:
                turns.append(TrackerTurn())
            message_id, reverted = event.get("message_id"), False
        elif not turns:
            continue
        elif kind == "rewind":
            reverted = True
        elif kind == "action" and event.get("name") != "action_listen":
            turns[-1].actions.append(event["name"])
        elif kind == "bot":
            turns[-1].bot_messages += 1
            response = (event.get("metadata") or {}).get("utter_action")
            if response:
                turns[-1].actions.append("utter:" + response)
        elif kind == "active_loop" and event.get("name"):
            turns[-1].actions.append("activate:" + event["name"])
    return turns


def is_fallback_turn(turn: TrackerTurn) -> bool:
    """A fallback ran on this message: Rasa's core fallback (action_default_fallback), or the
    two-stage fallback asked about it ("您是要…吗？", rephrase) or gave up on it. A message
    that clarified a pending two-stage question was understood: not a fallback."""
    if "action_default_fallback" in turn.actions:
        return True
    return TWO_STAGE in turn.actions and not turn.clarified


def run(runner: Runner, plans: List[Plan], concurrency: int = 6, progress=None) -> Report:
    results: List[Optional[Result]] = [None] * len(plans)

    def one(i: int) -> None:
        results[i] = runner.play(plans[i])
        if progress:
            progress(i, results[i])

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(len(plans))))
    return Report([r for r in results if r is not None])
