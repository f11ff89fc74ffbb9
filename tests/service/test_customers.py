import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from kefu.errors import InvalidPhone, NotFound
from kefu.models import RegisteredProduct
from kefu.services import customers, tickets
from kefu.services.tickets import TicketRequest

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 23, 10, tzinfo=TZ)


@pytest.mark.parametrize(
    "raw",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138-1234-5678", "+8613812345678",
     "0086 13812345678", "8613812345678", "１３８１２３４５６７８", "(+86) 138.1234.5678"],
)
def test_normalize_phone_accepts_mainland_mobiles(raw):
    assert customers.normalize_phone(raw) == "13812345678"


@pytest.mark.parametrize(
    "raw",
    ["12812345678", "1381234567", "138123456789", "010-12345678", "+1 138 1234 5678",
     "1381234567a", "", None, "一三八一二三四五六七八"],
)
def test_normalize_phone_rejects_others(raw):
    with pytest.raises(InvalidPhone) as info:
        customers.normalize_phone(raw)
    assert info.value.code == "invalid_phone"


def test_mask_phone():
    assert customers.mask_phone("13812345678") == "138****5678"


def test_get_or_create_fills_blanks_and_finds_by_any_format(session):
    customer, created = customers.get_or_create_customer(session, "+86 139-0000-1111", name="张伟")
    assert created and customer.tier == "普通"
    again, created = customers.get_or_create_customer(
        session, "13900001111", name="别的名字", address="北京市朝阳区望京街道8号"
    )
    assert not created and again.id == customer.id
    assert again.name == "张伟"  # existing data is not overwritten
    assert again.address == "北京市朝阳区望京街道8号"  # blanks are filled in
    session.commit()
    assert customers.find_customer_by_phone(session, "139 0000 1111").id == customer.id
    assert customers.find_customer_by_phone(session, "13900002222") is None
    with pytest.raises(InvalidPhone):
        customers.find_customer_by_phone(session, "12345")
    assert customers.get_customer(session, customer.id) is customer
    with pytest.raises(NotFound):
        customers.get_customer(session, customer.id + 1000)


def test_registered_products_by_category(session):
    customer, _ = customers.get_or_create_customer(session, "13900003333")
    other, _ = customers.get_or_create_customer(session, "13900004444")
    session.add_all([
        RegisteredProduct(customer=customer, category="空调", model="KFR-35GW/BpR3"),
        RegisteredProduct(customer=customer, category="净水器", model="RO-600G",
                          next_maintenance=dt.date(2026, 12, 1)),
        RegisteredProduct(customer=other, category="空调", model="KFR-26GW/BpR3"),
    ])
    session.flush()
    assert [p.model for p in customers.registered_products(session, customer.id)] == ["KFR-35GW/BpR3", "RO-600G"]
    assert [p.model for p in customers.registered_products(session, customer.id, "净水器")] == ["RO-600G"]
    assert customers.registered_products(session, customer.id, "冰箱") == []


def test_complaint_count_in_window(session):
    complaint = dict(type="complaint", phone="13900005555", description="师傅迟到")
    tickets.create_ticket(session, TicketRequest(**complaint), now=NOW - dt.timedelta(days=40))
    tickets.create_ticket(session, TicketRequest(**complaint), now=NOW - dt.timedelta(days=10))
    tickets.create_ticket(session, TicketRequest(type="repair", phone="13900005555", product="空调"),
                          now=NOW - dt.timedelta(days=5))
    tickets.create_ticket(session, TicketRequest(**{**complaint, "phone": "13900006666"}), now=NOW)
    customer = customers.find_customer_by_phone(session, "13900005555")
    assert customers.complaint_count(session, customer.id, days=30, now=NOW) == 1
    assert customers.complaint_count(session, customer.id, days=60, now=NOW) == 2
