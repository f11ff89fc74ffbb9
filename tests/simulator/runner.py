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
FALLBACK_ACTIONS = {"action_default_fallback", "action_default_ask_affirmation", "utter_ask_rephrase", "utter_default"}
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
    kind: str  # opener | answer | courtesy | correction | digression_faq | noise | abandon | lookup
    replies: List[str] = field(default_factory=list)
    actions: List[str] = field(default_factory=list)
    bot_messages: int = 0


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
        turns = self.content_turns()
        return sum(1 for t in turns if FALLBACK_ACTIONS & set(t.actions)) / max(len(turns), 1)

    def summary(self) -> str:
        turns = sum(len(r.turns) for r in self.results)
        lines = [f"conversations: {len(self.results)}  turns: {turns}  content turns: {len(self.content_turns())}",
                 f"fallback rate on content turns: {self.fallback_rate():.2%}",
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
        r = self.http.post(f"{self.rasa_url}/webhooks/rest/webhook", headers=self.rest_headers,
                           json={"sender": plan.sender, "message": turn.text})
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
        while len(turns) < MAX_TURNS:
            state = self.state(plan)
            if state["paused"]:
                break
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
                if after["paused"] or not after["loop"] or after["requested"] != slot:
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
                turn.actions, turn.bot_messages = next(per_turn, ([], 0))
        for i, turn in enumerate(turns):
            if len(turn.replies) > self.max_messages or turn.bot_messages > self.max_messages:
                add("too_many_messages", i, f"{turn.text[:40]!r} -> {max(len(turn.replies), turn.bot_messages)} messages")
            if not turn.replies:
                add("no_reply", i, f"{turn.text[:40]!r} got no reply (actions {turn.actions})")
            if turn.kind == "courtesy" or (plan.scenario == "courtesy_only" and turn.kind == "opener"):
                if FALLBACK_ACTIONS & set(turn.actions):
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


def split_turns(events: List[Dict[str, Any]]) -> List[Tuple[List[str], int]]:
    """(actions, bot message count) after each user message, in order."""
    turns: List[Tuple[List[str], int]] = []
    for event in events:
        kind = event.get("event")
        if kind == "user":
            turns.append(([], 0))
        elif not turns:
            continue
        elif kind == "action" and event.get("name") != "action_listen":
            turns[-1][0].append(event["name"])
        elif kind == "bot":
            turns[-1] = (turns[-1][0], turns[-1][1] + 1)
        elif kind == "active_loop" and event.get("name"):
            turns[-1][0].append("activate:" + event["name"])
    return turns


def run(runner: Runner, plans: List[Plan], concurrency: int = 6, progress=None) -> Report:
    results: List[Optional[Result]] = [None] * len(plans)

    def one(i: int) -> None:
        results[i] = runner.play(plans[i])
        if progress:
            progress(i, results[i])

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(len(plans))))
    return Report([r for r in results if r is not None])
