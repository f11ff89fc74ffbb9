"""Known customers: archive, maintenance reminders, 回访 queue, verified-only tier service."""
import datetime as dt
from zoneinfo import ZoneInfo

from kefu.models import Order, RegisteredProduct
from kefu.services import archive, customers, surveys, tickets
from kefu.services.tickets import TicketRequest

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 12, 1, 10, tzinfo=TZ)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def customer(session, phone="13900000501", name="周明", tier="普通"):
    c, _ = customers.get_or_create_customer(session, phone, name=name)
    c.tier = tier
    session.flush()
    return c


def product(session, owner, category, *, installed=None, next_maintenance=None, model=None):
    p = RegisteredProduct(customer=owner, category=category, model=model, install_date=installed,
                          purchase_date=installed, next_maintenance=next_maintenance)
    session.add(p)
    session.flush()
    return p


def resolve(session, ticket, at):
    for step, status in enumerate(("已派单", "处理中", "已解决")):
        tickets.change_status(session, ticket, status, "agent:li", now=at - (2 - step) * dt.timedelta(minutes=1))


def test_due_date_follows_the_card_or_the_catalogue_period(session):
    owner = customer(session)
    today = T0.date()
    filters = product(session, owner, "净水器", installed=today - dt.timedelta(days=400))  # every 180 days
    fridge = product(session, owner, "冰箱", installed=today - dt.timedelta(days=400))  # no maintenance in catalogue
    fresh = product(session, owner, "空调", installed=today - dt.timedelta(days=30))  # due in 335 days
    card = product(session, owner, "油烟机", installed=today - dt.timedelta(days=30), next_maintenance=today + 10 * DAY)
    due = archive.maintenance_due(session, customer_id=owner.id, now=T0)
    by_product = {d.product.id: d for d in due}
    # 400 days after installation: the 360-day boundary is the current period (not the 180-day one)
    assert by_product[filters.id].due_on == today - dt.timedelta(days=40)
    assert by_product[filters.id].item == "更换滤芯"
    assert by_product[card.id].due_on == today + 10 * DAY  # within the 14-day lead
    assert fridge.id not in by_product and fresh.id not in by_product


def test_each_due_date_is_mentioned_once(session):
    owner = customer(session)
    p = product(session, owner, "净水器", installed=T0.date() - dt.timedelta(days=185))
    first = archive.customer_archive(session, owner.id, now=T0)
    assert [m["product_id"] for m in first["maintenance"]] == [p.id]
    assert archive.mark_archive_reminders(session, owner.id, [p.id], conversation_id="c1", now=T0) == 1
    assert archive.mark_archive_reminders(session, owner.id, [p.id], conversation_id="c2", now=T0) == 0
    session.commit()
    assert archive.customer_archive(session, owner.id, now=T0 + DAY)["maintenance"] == []
    # the next period (180 days later) is mentioned again
    later = archive.customer_archive(session, owner.id, now=T0 + 180 * DAY)
    assert [m["product_id"] for m in later["maintenance"]] == [p.id]
    # the supervisor's list still shows the reminded one, flagged
    listed = archive.maintenance_due(session, now=T0 + DAY)
    assert [(d.product.id, d.reminded) for d in listed] == [(p.id, True)]


def test_archive_lists_only_this_customers_open_tickets_and_orders_in_transit(session):
    owner, other = customer(session), customer(session, "13900000502", "吴芳")
    mine = tickets.create_ticket(session, TicketRequest(type="repair", customer_id=owner.id, product="洗衣机",
                                                        appointment_start=T0 + DAY, appointment_end=T0 + DAY + 2 * HOUR),
                                 now=T0).ticket
    done = tickets.create_ticket(session, TicketRequest(type="repair", customer_id=owner.id, product="空调"), now=T0).ticket
    tickets.cancel_ticket(session, done, "customer", now=T0 + HOUR)
    tickets.create_ticket(session, TicketRequest(type="repair", customer_id=other.id, product="冰箱"), now=T0)
    for no, whose, shipping in (("DD202611300001", owner, "运输中"), ("DD202611300002", owner, "已签收"),
                                ("DD202611300003", other, "派送中")):
        session.add(Order(order_no=no, customer=whose, items=[{"product": "空调", "model": "KFR-35GW"}],
                          status="已付款", shipping_status=shipping, ordered_at=T0 - DAY))
    session.flush()
    facts = archive.customer_archive(session, owner.id, now=T0 + HOUR)
    assert facts["name"] == "周明"
    assert [t["ticket_no"] for t in facts["open_tickets"]] == [mine.ticket_no]
    assert [o["order_no"] for o in facts["orders_in_transit"]] == ["DD202611300001"]
    assert facts["survey_ticket"] is None


def test_followup_queue_waits_the_configured_hours(session):
    owner = customer(session)
    ticket = tickets.create_ticket(session, TicketRequest(type="repair", customer_id=owner.id, product="空调"),
                                   now=T0).ticket
    resolve(session, ticket, T0 + HOUR)
    session.commit()
    assert surveys.followup_queue(session, now=T0 + 5 * HOUR) == []  # 24 h in service.yml
    assert surveys.followup_for_customer(session, owner.id, now=T0 + 5 * HOUR) is None
    assert surveys.followup_queue(session, now=T0 + 26 * HOUR) == [ticket]
    assert archive.customer_archive(session, owner.id, now=T0 + 26 * HOUR)["survey_ticket"]["ticket_no"] == ticket.ticket_no
    surveys.record_survey(session, ticket, 5, now=T0 + 27 * HOUR)
    session.commit()
    assert surveys.followup_queue(session, now=T0 + 30 * HOUR) == []


def test_vip_service_needs_a_verified_customer(session):
    vip = customer(session, "13900000503", "李晓梅", tier="VIP")
    typed = tickets.create_ticket(session, TicketRequest(type="return", phone="13900000503",
                                                         description="想换个颜色"), now=T0)
    assert typed.ticket.customer_id == vip.id  # the ticket is still filed under the phone's owner ...
    # ... but a phone typed in chat buys no VIP priority or desk
    assert typed.ticket.priority == "普通" and typed.ticket.group_name == "退换货组"
    assert "customer_tier" not in typed.notices
    verified = tickets.create_ticket(session, TicketRequest(type="return", customer_id=vip.id,
                                                            description="想换个颜色"), now=T0)
    assert verified.ticket.priority == "高" and verified.ticket.group_name == "VIP专席"
    assert verified.notices == ["customer_tier"]
    # an emergency still goes to 抢修, whoever asks
    gas = tickets.create_ticket(session, TicketRequest(type="complaint", customer_id=vip.id, fault="燃气泄漏",
                                                       description="灶台有燃气味"), now=T0)
    assert gas.ticket.group_name == "抢修组"
