"""Answers that the NLU reads as another request, against the real stack (found chatting as
a customer): "没有了" to the model question was heard as goodbye and ended the repair form;
"算了不修了，我要退货" was saved as the product model."""
from __future__ import annotations

import re

from sqlalchemy import select

from kefu import db
from kefu.models.service import Ticket

TICKET_NO = re.compile(r"[A-Z]{2}\d{8}-\d{4,}")


def test_nothing_more_to_the_model_question_goes_on_to_the_address(stack, chat):
    chat.say("洗衣机不脱水了，要报修")
    text = chat.texts(chat.say("没有了"))
    assert "地址" in text and "再见" not in text, text
    chat.say("杭州市西湖区文三路200号3幢")
    chat.say("13912345678")
    numbers = TICKET_NO.findall(chat.texts(chat.say("明天上午")))
    assert numbers
    with db.session_scope(stack.db_url) as session:
        ticket = session.execute(select(Ticket).where(Ticket.ticket_no == numbers[0])).scalar_one()
        assert ticket.type == "repair" and ticket.product_model in (None, "", "未知")


def test_a_return_wish_at_the_model_question_starts_the_return(stack, chat):
    chat.say("冰箱不制冷了要报修")
    text = chat.texts(chat.say("算了不修了，我要退货"))
    assert "报修登记" in text and "订单" in text, text  # a short confirmation, then the return form's question
    with db.session_scope(stack.db_url) as session:
        assert session.execute(select(Ticket).where(Ticket.conversation_id == chat.sender)).first() is None
    events = chat.tracker()["events"]
    assert not any(e.get("event") == "slot" and e.get("name") == "product_model" and e.get("value") for e in events)
