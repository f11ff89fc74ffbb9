"""Issue 14: a verified signed-in customer opens the chat and is greeted with their ticket
(real Rasa + action server + socket.io); a typed phone and name unlock nothing."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

from e2e_support import Customer
from kefu import clock, db
from kefu.models import RegisteredProduct
from kefu.services import customers, tickets
from kefu.services.tickets import TicketRequest
from kefu.tokens import sign_customer_token
from moments import MONDAY_10_BEIJING

PHONE = "13900000901"


def seed(stack) -> str:
    with db.session_scope(stack.db_url) as session:
        owner, _ = customers.get_or_create_customer(session, PHONE, name="周明")
        tomorrow_9 = MONDAY_10_BEIJING.replace(hour=9) + dt.timedelta(days=1)
        ticket = tickets.create_ticket(session, TicketRequest(
            type="repair", customer_id=owner.id, product="洗衣机", description="洗衣机不脱水",
            appointment_start=tomorrow_9, appointment_end=tomorrow_9 + dt.timedelta(hours=2)),
            now=dt.datetime(2026, 12, 1, 9, tzinfo=MONDAY_10_BEIJING.tzinfo)).ticket
        return ticket.ticket_no, owner.id


def token_for(stack, customer_id: int, phone: str = PHONE) -> str:
    """Signed on the stack's fake clock (a wall-clock token is "issued in the future" for a
    stack pinned to a moment the wall clock has passed)."""
    secrets = json.loads((Path(stack.env["KEFU_VAR_DIR"]) / "secrets.json").read_text("utf-8"))
    with clock.pin(clock.now_in(stack.env)):
        return sign_customer_token(customer_id, phone, key=secrets["KEFU_CUSTOMER_TOKEN_KEY"])


async def collect(customer: Customer, quiet: float = 3.0) -> list:
    replies = [await customer.next(60)]
    while True:
        try:
            replies.append(await customer.next(quiet))
        except asyncio.TimeoutError:
            return replies


def test_verified_customer_opens_the_chat_and_is_greeted_with_their_ticket(stack, pinned_clock):
    ticket_no, customer_id = seed(stack)
    token = token_for(stack, customer_id)  # signed on the stack's (pinned) clock

    async def scenario():
        async with Customer(stack.rasa_url) as customer:
            # what the widget sends when a signed-in customer opens a new conversation
            await customer.client.emit("user_uttered", {"message": "/greet", "session_id": customer.session_id,
                                                         "customData": {"customer_token": token, "display_text": "你好",
                                                                        "opened_chat": "1"}})
            return await collect(customer)

    replies = asyncio.run(scenario())
    texts = [r.get("text") or "" for r in replies]
    assert texts[0].startswith("周明，您好！欢迎回来"), texts
    line = next(r for r in replies if ticket_no in (r.get("text") or ""))
    assert line["text"] == f"您12月1日报修的洗衣机，师傅明天上午上门（工单号 {ticket_no}）。"
    assert [b["title"] for b in line["quick_replies"]] == ["查询进度", "催一下", "改约时间"]


def test_the_bot_asks_the_overdue_survey_when_the_customer_opens_the_chat(stack, pinned_clock):
    with db.session_scope(stack.db_url) as session:
        owner, _ = customers.get_or_create_customer(session, "13900000902", name="吴芳")
        done = tickets.create_ticket(session, TicketRequest(type="repair", customer_id=owner.id, product="空调"),
                                     now=MONDAY_10_BEIJING - dt.timedelta(days=3)).ticket
        for status in ("已派单", "处理中", "已解决"):  # resolved two days ago: in the 回访 queue
            tickets.change_status(session, done, status, "agent:li", now=MONDAY_10_BEIJING - dt.timedelta(days=2))
        ticket_no, customer_id = done.ticket_no, owner.id
    token = token_for(stack, customer_id, "13900000902")
    data = {"customer_token": token}

    async def scenario():
        async with Customer(stack.rasa_url) as customer:
            await customer.client.emit("user_uttered", {"message": "/greet", "session_id": customer.session_id,
                                                         "customData": {**data, "display_text": "你好", "opened_chat": "1"}})
            opened = await collect(customer)
            answer = '/inform{"satisfaction_score": 5, "satisfaction_comment": "师傅很专业"}'
            await customer.client.emit("user_uttered", {"message": answer, "session_id": customer.session_id,
                                                         "customData": {**data, "display_text": "★★★★★ 师傅很专业"}})
            return opened, await collect(customer)

    opened, thanked = asyncio.run(scenario())
    texts = "\n".join(r.get("text") or "" for r in opened)
    assert texts.startswith("吴芳，您好") and ticket_no in texts and "评价" in texts, texts
    assert any((r.get("custom") or {}).get("type") == "survey" for r in opened), opened
    thanks = "\n".join(r.get("text") or "" for r in thanked)
    assert "5 分" in thanks and ("感谢" in thanks or "谢谢" in thanks), thanked
    with db.session_scope(stack.db_url) as session:
        ticket = tickets.get_ticket(session, ticket_no)
        assert ticket.status == "已回访" and ticket.survey.score == 5


def test_a_typed_phone_and_name_unlock_nothing(stack, pinned_clock):
    seed(stack)  # 周明 has an open ticket: a stranger typing his phone must not see it

    async def scenario():
        async with Customer(stack.rasa_url) as customer:
            await customer.say(f"你好，我是周明，手机号{PHONE}")
            return await collect(customer)

    texts = "\n".join(r.get("text") or "" for r in asyncio.run(scenario()))
    assert "周明" not in texts and "工单号" not in texts and "洗衣机" not in texts, texts


def test_a_model_dependent_faq_answer_quotes_the_owners_card_only_for_the_token(stack, pinned_clock):
    with db.session_scope(stack.db_url) as session:
        owner, _ = customers.get_or_create_customer(session, "13900000903", name="郑洁")
        session.add(RegisteredProduct(customer=owner, category="净水器", model="RO-500",
                                      next_maintenance=dt.date(2027, 1, 10)))
        session.flush()
        customer_id = owner.id
    token = token_for(stack, customer_id, "13900000903")
    question = "净水器滤芯多久换一次"

    async def ask(data: dict) -> list:
        async with Customer(stack.rasa_url) as customer:
            await customer.client.emit("user_uttered", {"message": question, "session_id": customer.session_id,
                                                         "customData": data})
            return await collect(customer)

    signed = asyncio.run(ask({"customer_token": token}))
    texts = [r.get("text") or "" for r in signed]
    assert "PP 棉" in texts[0], texts  # the general answer first (utter_faq/filter_replacement)
    assert "您保养卡上登记的净水器（RO-500），下次更换滤芯在2027年1月10日" in "\n".join(texts), texts
    card = next(r for r in signed if "RO-500" in (r.get("text") or ""))
    assert [b["title"] for b in card["quick_replies"]] == ["预约净水器保养"]
    typed = asyncio.run(ask({}))  # the same question without the token: the general answer only
    assert "PP 棉" in (typed[0].get("text") or "") and not any("RO-500" in (r.get("text") or "") for r in typed), typed
