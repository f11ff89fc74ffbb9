import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from kefu.errors import InvalidOrderNo, NotFound
from kefu.models import Order
from kefu.services import customers, orders

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def two_orders(session):
    owner, _ = customers.get_or_create_customer(session, "13900000031")
    other, _ = customers.get_or_create_customer(session, "13900000032")
    mine = Order(order_no="DD202611150042", customer=owner, status="已付款", shipping_status="运输中",
                 items=[{"product": "冰箱", "model": "BCD-520WKPZM", "quantity": 1, "unit_price": 4599}],
                 total_amount=459900, carrier="顺丰速运", tracking_no="SF123456789012",
                 ordered_at=dt.datetime(2026, 11, 15, 20, 30, tzinfo=TZ),
                 expected_delivery=dt.date(2026, 11, 19))
    theirs = Order(order_no="DD202611150043", customer=other, items=[],
                   ordered_at=dt.datetime(2026, 11, 15, 21, tzinfo=TZ))
    session.add_all([mine, theirs])
    session.commit()
    return owner, mine, theirs


@pytest.mark.parametrize("raw", ["DD202611150042", "dd202611150042", " DD 2026 1115 0042 ", "ＤＤ２０２６１１１５００４２"])
def test_normalize_order_no(raw):
    assert orders.normalize_order_no(raw) == "DD202611150042"


@pytest.mark.parametrize("raw", ["DD20261115004", "DD2026111500421", "XD202611150042", "202611150042", "", None])
def test_malformed_order_numbers(raw):
    with pytest.raises(InvalidOrderNo) as info:
        orders.normalize_order_no(raw)
    assert info.value.code == "invalid_order_no"


def test_orders_only_for_their_owner(session, two_orders):
    owner, mine, theirs = two_orders
    assert orders.get_order_for_customer(session, "dd202611150042", phone="+86 13900000031") is mine
    assert orders.get_order_for_customer(session, mine.order_no, customer_id=owner.id) is mine
    for number in (theirs.order_no, "DD209912310001"):  # someone else's, unknown: same answer
        with pytest.raises(NotFound, match="order not found"):
            orders.get_order_for_customer(session, number, phone="13900000031")
        with pytest.raises(NotFound, match="order not found"):
            orders.get_order_for_customer(session, number, customer_id=owner.id)
    with pytest.raises(ValueError):
        orders.get_order_for_customer(session, mine.order_no)
    assert orders.list_recent_orders(session, owner.id) == [mine]


def test_order_summary(session, two_orders):
    _, mine, _ = two_orders
    summary = orders.order_summary(mine)
    assert summary["shipping_status"] == "运输中" and summary["carrier"] == "顺丰速运"
    assert summary["total_amount_yuan"] == 4599
    assert summary["ordered_at"] == "2026-11-15T20:30+08:00"
    assert summary["expected_delivery"] == "2026-11-19"
    assert summary["items"][0]["model"] == "BCD-520WKPZM"
