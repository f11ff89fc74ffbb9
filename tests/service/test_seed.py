import re

from sqlalchemy import func, select

from kefu import db, seed
from kefu.models import Customer, Order, RegisteredProduct, Survey, Ticket
from kefu.models.service import SHIPPING_STATUSES, STATUSES, TICKET_TYPES, TIERS
from kefu.services import orders, surveys, tickets
from kefu.nlp.catalogue import load_catalogue

STATUS_EVENTS = ("created", "status_changed", "cancelled", "survey")


def test_seed_is_realistic_consistent_and_idempotent(clean_db):
    assert seed.seed(clean_db) is True
    with db.session_scope(clean_db) as session:
        first = seed.counts(session)
        assert first["customers"] >= 60
        assert all(first["tickets_by_status"][status] > 0 for status in STATUSES)
        assert set(session.execute(select(Ticket.type).distinct()).scalars()) == set(TICKET_TYPES)
        assert set(session.execute(select(Customer.tier).distinct()).scalars()) == set(TIERS)
        assert set(session.execute(select(Order.shipping_status).distinct()).scalars()) == set(SHIPPING_STATUSES)
        assert len(set(session.execute(select(Customer.city).distinct()).scalars())) >= 5
        assert session.execute(select(func.count(Survey.id))).scalar_one() > 10

        catalogue = load_catalogue()
        for product in session.execute(select(RegisteredProduct)).scalars():
            assert catalogue.product_for_model(product.model) == product.category, product.model
        for order in session.execute(select(Order)).scalars():
            assert re.fullmatch(r"DD\d{12}", order.order_no)

        for ticket in session.execute(select(Ticket)).scalars():
            chain = [e for e in ticket.events if e.kind in STATUS_EVENTS]
            assert chain[0].kind == "created" and chain[-1].to_value == ticket.status, ticket.ticket_no
            for before, after in zip(chain, chain[1:]):
                assert after.from_value == before.to_value, ticket.ticket_no
            assert (ticket.survey is not None) == any(e.kind == "survey" for e in ticket.events)
            assert [e.at for e in ticket.events] == sorted(e.at for e in ticket.events)

    assert seed.seed(clean_db) is False  # second run: nothing changes
    with db.session_scope(clean_db) as session:
        assert seed.counts(session) == first


def test_demo_customers_match_the_docstring(clean_db):
    seed.seed(clean_db)
    with db.session_scope(clean_db) as session:
        wang = tickets.get_ticket_for_customer(session, "BX20261120-0001", phone="13912340001")
        assert (wang.product, wang.fault, wang.status) == ("空调", "不制冷", "已派单")
        assert wang.appointment_start.isoformat() == "2026-11-21T01:00:00+00:00"  # 09:00 in Beijing
        assert orders.get_order_for_customer(session, "DD202611180001", phone="13912340001").shipping_status == "运输中"

        li = tickets.get_ticket_for_customer(session, "BX20261120-0002", phone="13598760002")
        assert (li.product, li.status) == ("净水器", "已解决")
        assert surveys.pending_survey_for_customer(session, li.customer_id) is li
        assert orders.get_order_for_customer(session, "DD202611100001", phone="13598760002").shipping_status == "已签收"
    for fact in ("13912340001", "BX20261120-0001", "DD202611180001", "13598760002", "BX20261120-0002",
                 "DD202611100001"):
        assert fact in seed.__doc__


def test_reset_reseeds_from_scratch(clean_db):
    seed.seed(clean_db)
    with db.session_scope(clean_db) as session:
        before = seed.counts(session)
        session.add(Customer(phone="13700000000"))
    assert seed.seed(clean_db, reset_first=True) is True
    with db.session_scope(clean_db) as session:
        assert seed.counts(session) == before
        assert session.execute(select(Customer).where(Customer.phone == "13700000000")).first() is None
