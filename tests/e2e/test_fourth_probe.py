"""The fourth chat probe's failures (2026-12-07 evening), against the real stack: courtesy
after a ticket urged it or opened a complaint, "对 就是这些" closed a half-filled repair with a
goodbye, "1.5匹" booked an installation for 5 January, a look-up asked for its number after
every "谢谢", and "是滚筒的，买了有五六年了吧" turned a repair into a return."""
from __future__ import annotations

import re

from sqlalchemy import select

from kefu import db
from kefu.models.service import Ticket

TICKET_NO = re.compile(r"[A-Z]{2}\d{8}-\d{4,}")


def file_repair(chat) -> str:
    chat.say("冰箱不制冷了 冷藏室是热的")
    chat.say("不知道")
    chat.say("成都市武侯区人民南路四段27号3栋2单元801")
    chat.say("13608012745")
    numbers = TICKET_NO.findall(chat.texts(chat.say("周三下午")))
    assert numbers, "no ticket"
    return numbers[0]


def test_waiting_for_the_call_after_a_ticket_is_courtesy(stack, chat):
    ticket_no = file_repair(chat)
    for text in ("好吧 那等你们电话", "好 我等着", "嗯嗯 知道了 谢啦"):
        reply = chat.texts(chat.say(text))
        assert "催" not in reply and "投诉" not in reply and "工单号" not in reply, (text, reply)
    with db.session_scope(stack.db_url) as session:
        tickets = session.execute(select(Ticket).where(Ticket.conversation_id == chat.sender)).scalars().all()
        assert [t.ticket_no for t in tickets] == [ticket_no] and tickets[0].urge_count == 0


def test_that_is_all_at_the_model_question_goes_on(stack, chat):
    chat.say("热水器报修，不加热了，显示E1，地址杭州市西湖区文三路478号华星时代广场A座1203，电话15857163920")
    reply = chat.texts(chat.say("对 就是这些"))
    assert "再见" not in reply and "时间" in reply, reply  # the model is unknown; the visit time is asked
    numbers = TICKET_NO.findall(chat.texts(chat.say("周六上午")))
    assert numbers and numbers[0].startswith("BX")


def test_a_size_is_no_visit_day(stack, chat):
    chat.say("我想预约安装空调")
    chat.say("新买的 还没拆箱 1.5匹挂机")
    chat.say("苏州工业园区星湖街328号创意产业园5栋")
    reply = chat.texts(chat.say("13915487206"))
    assert "时间" in reply and "1月5日" not in reply, reply  # asked, not booked for 5 January


def test_thanks_ends_a_look_up_without_a_number(stack, chat):
    chat.say("帮我查一下工单")
    chat.say("KF20261201001")
    reply = chat.texts(chat.say("好的 谢谢"))
    assert "找到工单号后" in reply, reply
    reply = chat.texts(chat.say("好的"))
    assert "工单号" not in reply and "工单编号" not in reply, reply


def test_a_purchase_age_at_the_model_question_is_no_return(stack, chat):
    chat.say("洗衣机不转了 水也排不出去")
    reply = chat.texts(chat.say("是滚筒的，买了有五六年了吧"))
    assert "订单" not in reply and "退" not in reply, reply
    assert not any(e.get("event") == "active_loop" and e.get("name") == "return_form" for e in chat.tracker()["events"])


def test_an_appliance_the_brand_does_not_make_is_told_so(stack, chat):
    reply = chat.texts(chat.say("电视机开机没画面有声音"))
    assert "不在我们的服务范围" in reply and "空调" in reply, reply
    reply = chat.texts(chat.say("空调也不制冷了"))
    assert "型号" in reply, reply  # our product: the repair starts


def test_a_return_without_its_order_number_is_filed(stack, chat):
    """"订单号我不知道在哪里看…" at the order question once reached the slot unvalidated and the
    return failed at its last step ("系统暂时无法保存"); a phone typed there became an order number."""
    chat.say("我想退货 洗衣机用了两次就漏水")
    reply = chat.texts(chat.say("13905128376"))
    assert "手机号" in reply and "订单" in reply, reply  # the phone, noted; the order question again
    replies = []
    for text in ("订单号我不知道在哪里看 是我儿子帮我在手机上下单的", "漏水 质量问题", "13905128376", "退货"):
        replies.append(chat.texts(chat.say(text)))
        if TICKET_NO.search(replies[-1]):
            break
    numbers = TICKET_NO.findall("\n".join(replies))
    assert numbers and numbers[0].startswith("TH"), replies
    assert "无法保存" not in "\n".join(replies)


def test_a_model_found_late_is_noted_at_the_address_question(stack, chat):
    chat.say("冰箱不冷了")
    chat.say("型号看不到 贴纸在哪")
    replies = chat.texts(chat.say("不知道"))
    if "地址" not in replies:  # the model question came again after the FAQ answer
        replies = chat.texts(chat.say("不知道"))
    assert "地址" in replies, replies
    reply = chat.texts(chat.say("找到了 BCD-516WK"))
    assert "BCD-516WK" in reply and "已记下" in reply and "地址" in reply, reply
