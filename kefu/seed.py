"""Demo data for the fictional brand 暖风家电: ``python -m kefu.seed [--url URL] [--reset]``.

Creates 64 customers in ten cities (all tiers, VIP included) with registered
products (保养卡), orders in every shipping state and ~130 tickets of every type
in every status, with event histories and surveys that match their status.
Tickets go through the real service functions (numbering, priority, SLA, state
machine), so the data obeys the same rules as live data.

Deterministic: a fixed random seed and a fixed anchor date (default 2026-11-20,
``--anchor`` to move it); running it twice changes nothing (``--reset`` wipes all
Kefu tables first). The database is migrated first.

Demo customers for manual testing (anchor 2026-11-20):

* 王建国 (金卡, 北京), phone 13912340001
  - ticket BX20261120-0001: 空调 KFR-35GW/BpR3 不制冷, 已派单, visit 2026-11-21 09:00-12:00
  - order DD202611180001: 滚筒洗衣机 XQG100-B14, 运输中 (顺丰速运)
* 李晓梅 (VIP, 上海), phone 13598760002
  - ticket BX20261120-0002: 净水器 RO-600G 出水慢, 已解决, waiting for the satisfaction survey
  - order DD202611100001: 冰箱 BCD-520WKPZM, 已签收
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from dateutil.relativedelta import relativedelta
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kefu import db
from kefu.models import Base, Customer, Order, RegisteredProduct, Ticket
from kefu.models.service import (
    ACCEPTED,
    CANCELLED,
    CLOSED,
    DISPATCHED,
    IN_PROGRESS,
    RESOLVED,
    STATUSES,
    SURVEYED,
    TICKET_TYPES,
)
from kefu.services import surveys, tickets
from kefu.services.tickets import TicketRequest
from kefu.settings import service_config

RANDOM_SEED = 20261120
DEFAULT_ANCHOR = dt.date(2026, 11, 20)
DATA_FILE = Path(__file__).resolve().parent / "seed_data" / "brand.yml"
CUSTOMER_COUNT = 64
TIER_WEIGHTS = {"普通": 60, "银卡": 20, "金卡": 12, "VIP": 8}
CHANNELS = ("web", "wechat", "phone")

DEMO_CUSTOMERS = [
    {"phone": "13912340001", "name": "王建国", "tier": "金卡", "city": "北京市",
     "address": "北京市朝阳区望京街道阜通东大街6号院3号楼1201"},
    {"phone": "13598760002", "name": "李晓梅", "tier": "VIP", "city": "上海市",
     "address": "上海市浦东新区张江镇碧波路690号5号楼802"},
]

# Order states: (order status, shipping status); every shipping state occurs.
ORDER_STATES = [
    ("待付款", "待发货"), ("已付款", "待发货"), ("已付款", "已发货"), ("已付款", "运输中"),
    ("已付款", "派送中"), ("已完成", "已签收"), ("已取消", "待发货"), ("退款中", "已退回"),
    ("已退款", "已退回"), ("已完成", "已签收"), ("已完成", "已签收"),
]
# How many days of history each final status needs (dispatch, work, resolve, survey, close).
DAYS_NEEDED = {ACCEPTED: 0, DISPATCHED: 0, IN_PROGRESS: 1, RESOLVED: 2, SURVEYED: 3, CLOSED: 5, CANCELLED: 0}


class Seeder:
    def __init__(self, session: Session, anchor: dt.date) -> None:
        self.session = session
        self.rng = random.Random(RANDOM_SEED)
        self.data = yaml.safe_load(DATA_FILE.read_text("utf-8"))
        self.tz = service_config().tz
        self.anchor = anchor
        self.end = self.local(anchor, 18)  # nothing happens after the anchor day's 18:00
        self.order_serials: Dict[str, int] = {}

    # --- helpers -----------------------------------------------------------------

    def local(self, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=self.tz).astimezone(dt.timezone.utc)

    def days_ago(self, low: float, high: float) -> dt.datetime:
        """A moment between ``high`` and ``low`` days before the end, inside 08:00-20:00."""
        moment = self.end - dt.timedelta(days=self.rng.uniform(low, high))
        local = moment.astimezone(self.tz)
        return self.local(local.date(), self.rng.randint(8, 19), self.rng.randrange(0, 60, 5))

    def pick(self, items):
        return self.rng.choice(items)

    # --- customers, products, orders --------------------------------------------------

    def customers(self) -> List[Customer]:
        result = [self.add_customer(**spec) for spec in DEMO_CUSTOMERS]
        phones = {c.phone for c in result}
        tiers, weights = zip(*TIER_WEIGHTS.items())
        while len(result) < CUSTOMER_COUNT:
            phone = f"{self.pick(self.data['mobile_prefixes'])}{self.rng.randrange(10**8):08d}"
            if phone in phones:
                continue
            phones.add(phone)
            city = self.pick(list(self.data["cities"]))
            district = self.pick(list(self.data["cities"][city]))
            street = self.pick(self.data["cities"][city][district])
            address = (f"{city}{district}{street}{self.rng.randint(1, 999)}号"
                       f"{self.rng.randint(1, 20)}栋{self.rng.randint(1, 30)}{self.rng.randint(1, 4):02d}室")
            tier = "VIP" if len(result) < 6 else self.rng.choices(tiers, weights)[0]  # VIPs guaranteed
            name = self.pick(self.data["surnames"]) + self.pick(self.data["given_names"])
            result.append(self.add_customer(phone=phone, name=name, tier=tier, city=city, address=address))
        return result

    def add_customer(self, **fields) -> Customer:
        customer = Customer(**fields, created_at=self.days_ago(400, 1500))
        self.session.add(customer)
        return customer

    def add_product(self, customer: Customer, category: str, model: Optional[str] = None) -> RegisteredProduct:
        spec = self.data["products"][category]
        purchased = self.anchor - dt.timedelta(days=self.rng.randint(30, 1400))
        installed = purchased + dt.timedelta(days=self.rng.randint(1, 5))
        next_maintenance = None
        if spec["maintenance_months"]:
            next_maintenance = installed
            while next_maintenance < self.anchor - dt.timedelta(days=20):  # some are a bit overdue
                next_maintenance += relativedelta(months=spec["maintenance_months"])
        product = RegisteredProduct(
            customer=customer,
            category=category,
            model=model or self.pick(spec["models"]),
            serial=f"NF{purchased:%y%m}{self.rng.randrange(10**8):08d}",
            purchase_date=purchased,
            install_date=installed,
            installer=self.pick(self.data["installers"]),
            warranty_end=purchased + relativedelta(years=spec["warranty_years"]),
            next_maintenance=next_maintenance,
            maintenance_note=spec["maintenance"],
            created_at=self.local(installed, 10),
        )
        self.session.add(product)
        return product

    def add_order(self, customer: Customer, category: str, state, ordered_at: dt.datetime,
                  model: Optional[str] = None) -> Order:
        status, shipping = state
        spec = self.data["products"][category]
        quantity = 1 if self.rng.random() < 0.85 else 2
        items = [{"product": category, "model": model or self.pick(spec["models"]),
                  "quantity": quantity, "unit_price": spec["price"]}]
        day = f"{ordered_at.astimezone(self.tz):%Y%m%d}"
        self.order_serials[day] = self.order_serials.get(day, 0) + 1
        shipped = ordered_at + dt.timedelta(days=1) if shipping != "待发货" else None
        carrier = self.pick(list(self.data["carriers"])) if shipped else None
        delivered = ordered_at + dt.timedelta(days=3) if shipping in ("已签收", "已退回") else None
        order = Order(
            order_no=f"DD{day}{self.order_serials[day]:04d}",
            customer=customer,
            items=items,
            total_amount=spec["price"] * quantity * 100,
            status=status,
            shipping_status=shipping,
            carrier=carrier,
            tracking_no=f"{self.data['carriers'][carrier]}{self.rng.randrange(10**12):012d}" if carrier else None,
            ordered_at=ordered_at,
            paid_at=ordered_at + dt.timedelta(minutes=10) if status != "待付款" else None,
            shipped_at=shipped,
            delivered_at=delivered,
            expected_delivery=(ordered_at + dt.timedelta(days=4)).astimezone(self.tz).date()
            if status not in ("待付款", "已取消") else None,
            updated_at=delivered or shipped or ordered_at,
        )
        self.session.add(order)
        return order

    # --- tickets --------------------------------------------------------------------

    def request(self, ticket_type: str, customer: Customer, created: dt.datetime,
                orders_by_customer: Dict[int, List[Order]]) -> TicketRequest:
        products = customer.products
        base = dict(type=ticket_type, customer_id=customer.id, contact_name=customer.name,
                    address=customer.address, channel=self.pick(CHANNELS), actor="bot")
        if ticket_type == "repair":
            product = self.pick(products)
            fault = self.pick(self.data["repair_faults"][product.category])
            start = self.local((created + dt.timedelta(days=self.rng.randint(1, 2))).astimezone(self.tz).date(),
                               self.pick((9, 14)))
            return TicketRequest(**base, product=product.category, product_model=product.model, fault=fault,
                                 description=f"{product.category}{fault}，麻烦派师傅上门看看",
                                 appointment_start=start, appointment_end=start + dt.timedelta(hours=3))
        if ticket_type == "installation":
            category = self.pick(["空调", "热水器", "净水器", "油烟机"])
            kind = self.pick(self.data["installation_kinds"])
            start = self.local((created + dt.timedelta(days=self.rng.randint(1, 3))).astimezone(self.tz).date(),
                               self.pick((9, 14)))
            return TicketRequest(**base, product=category, description=f"{category}{kind}",
                                 appointment_start=start, appointment_end=start + dt.timedelta(hours=3),
                                 extra={"install_kind": kind})
        if ticket_type == "complaint":
            detail, demand = self.pick(self.data["complaints"])
            return TicketRequest(**base, description=detail, extra={"complaint_demand": demand})
        if ticket_type == "return":
            kind, reason = self.pick(self.data["returns"])
            orders = orders_by_customer.get(customer.id) or []
            order_no = orders[0].order_no if orders else None
            return TicketRequest(**base, description=reason,
                                 extra={"return_kind": kind, "return_reason": reason, "order_no": order_no})
        return TicketRequest(**base, description=self.pick(self.data["suggestions"]))

    def progress(self, ticket: Ticket, target: str, created: dt.datetime) -> None:
        """Walk the ticket to ``target`` through the service functions (events included)."""
        rng, data, session = self.rng, self.data, self.session
        at = created
        steps = {CANCELLED: 0, ACCEPTED: 0, DISPATCHED: 1, IN_PROGRESS: 2, RESOLVED: 3, SURVEYED: 4, CLOSED: 5}
        def later(hours_low: float, hours_high: float) -> dt.datetime:
            nonlocal at
            at = min(at + dt.timedelta(hours=rng.uniform(hours_low, hours_high)), self.end)
            return at

        if target == CANCELLED:
            if rng.random() < 0.5:
                tickets.assign(session, ticket, self.pick(data["technicians"]), self.pick(data["agents"]),
                               now=later(0.5, 3))
            tickets.cancel_ticket(session, ticket, actor="customer", reason="客户已自行解决，不需要了",
                                  now=later(1, 12))
            return
        if steps[target] >= 1:
            tickets.assign(session, ticket, self.pick(data["technicians"]), self.pick(data["agents"]),
                           now=later(0.3, 3))
        if steps[target] >= 2:
            tickets.change_status(session, ticket, IN_PROGRESS, ticket.assignee, now=later(12, 24))
        if steps[target] >= 3:
            tickets.change_status(session, ticket, RESOLVED, ticket.assignee, note="已处理完毕", now=later(6, 20))
        if target == SURVEYED or (target == CLOSED and rng.random() < 0.7):  # some never answer
            surveys.record_survey(
                session, ticket, rng.choices([5, 4, 3, 2, 1], [50, 30, 10, 6, 4])[0],
                comment=self.pick(data["survey_comments"]) or None,
                dimensions={name: rng.randint(3, 5) for name in ("timeliness", "attitude", "resolved")},
                now=later(20, 28),
            )
        if target == CLOSED:
            note = None if ticket.status == SURVEYED else "多次联系客户未接通，按流程关闭"
            tickets.change_status(session, ticket, CLOSED, self.pick(data["agents"]), note=note, now=later(20, 30))
        if target in (ACCEPTED, DISPATCHED, IN_PROGRESS):
            self.chase(ticket, at)

    def chase(self, ticket: Ticket, at: dt.datetime) -> None:
        """Open tickets: some customers urge (twice escalates), agents leave notes."""
        roll = self.rng.random()
        for _ in range(2 if roll < 0.12 else 1 if roll < 0.4 else 0):
            at = min(at + dt.timedelta(hours=self.rng.uniform(2, 20)), self.end)
            tickets.urge_ticket(self.session, ticket, note="客户来电催促", now=at)
        if ticket.status == IN_PROGRESS and self.rng.random() < 0.5:
            tickets.add_note(self.session, ticket, "已联系客户，配件在途，预计明天到货",
                             ticket.assignee or "agent:zhang", now=min(at + dt.timedelta(hours=1), self.end))

    def plan_tickets(self, customers: List[Customer]):
        """(created, type, status, customer): every type x status, plus a realistic mix."""
        plan = [(t, s) for t in TICKET_TYPES for s in STATUSES]
        mix = (["repair"] * 6 + ["installation"] * 3 + ["complaint", "return", "suggestion"])
        statuses = [ACCEPTED, DISPATCHED, IN_PROGRESS, RESOLVED, SURVEYED, SURVEYED, CLOSED, CLOSED, CLOSED, CANCELLED]
        plan += [(self.pick(mix), self.pick(statuses)) for _ in range(90)]
        others = customers[len(DEMO_CUSTOMERS):]
        result = []
        for ticket_type, status in plan:
            if status in (ACCEPTED, DISPATCHED, IN_PROGRESS):
                created = self.days_ago(1, 4 if self.rng.random() < 0.8 else 12)  # a few 长期滞留
            else:
                created = self.days_ago(DAYS_NEEDED[status] + 1.5, 75)
            result.append((created, ticket_type, status, self.pick(others)))
        return sorted(result, key=lambda item: (item[0], item[1]))

    # --- all together ---------------------------------------------------------------

    def run(self) -> None:
        customers = self.customers()
        categories = list(self.data["products"])
        wang, li = customers[0], customers[1]
        self.add_product(wang, "空调", "KFR-35GW/BpR3")
        self.add_product(wang, "热水器", "JSQ25-13UH")
        self.add_product(li, "净水器", "RO-600G")
        self.add_product(li, "冰箱", "BCD-520WKPZM")
        self.add_product(li, "空调", "KFR-72LW/NhZ")
        for customer in customers[2:]:
            for category in self.rng.sample(categories, self.rng.choice((1, 1, 2, 2, 3))):
                self.add_product(customer, category)

        orders: Dict[int, List[Order]] = {}
        self.add_order(wang, "洗衣机", ("已付款", "运输中"), self.local(self.anchor - dt.timedelta(days=2), 20, 15),
                       model="XQG100-B14")
        self.add_order(li, "冰箱", ("已完成", "已签收"), self.local(self.anchor - dt.timedelta(days=10), 21, 30),
                       model="BCD-520WKPZM")
        for index, customer in enumerate(customers[2:]):
            for _ in range(self.rng.choice((0, 1, 1, 2))):
                state = ORDER_STATES[index % len(ORDER_STATES)] if _ == 0 else self.pick(ORDER_STATES)
                order = self.add_order(customer, self.pick(categories), state, self.days_ago(3, 60))
                orders.setdefault(customer.id, []).append(order)
        self.session.flush()

        for created, ticket_type, status, customer in self.plan_tickets(customers):
            request = self.request(ticket_type, customer, created, orders)
            ticket = tickets.create_ticket(self.session, request, now=created).ticket
            self.progress(ticket, status, created)
        for index, (category, fault, text) in enumerate(self.data["emergencies"]):
            created = self.days_ago(20 + 10 * index, 21 + 10 * index)
            customer = customers[2 + 7 * index]
            ticket = tickets.create_ticket(self.session, TicketRequest(
                type="repair", customer_id=customer.id, product=category, fault=fault, description=text,
                address=customer.address, channel="phone"), now=created).ticket
            self.progress(ticket, CLOSED, created)
        self.demo_tickets(wang, li)

    def demo_tickets(self, wang: Customer, li: Customer) -> None:
        """The two documented tickets, first BX tickets of the anchor day."""
        created = self.local(self.anchor, 9, 5)
        visit = self.local(self.anchor + dt.timedelta(days=1), 9)
        first = tickets.create_ticket(self.session, TicketRequest(
            type="repair", customer_id=wang.id, product="空调", product_model="KFR-35GW/BpR3", fault="不制冷",
            description="空调开了一晚上都不制冷，吹的是热风", address=wang.address, contact_name=wang.name,
            appointment_start=visit, appointment_end=visit + dt.timedelta(hours=3), channel="web",
        ), now=created).ticket
        tickets.assign(self.session, first, "技师:王建军", "agent:zhang", now=created + dt.timedelta(minutes=40))
        created = self.local(self.anchor, 9, 20)
        second = tickets.create_ticket(self.session, TicketRequest(
            type="repair", customer_id=li.id, product="净水器", product_model="RO-600G", fault="出水慢",
            description="净水器出水很慢，一杯水要接两分钟", address=li.address, contact_name=li.name, channel="wechat",
        ), now=created).ticket
        tickets.assign(self.session, second, "技师:李国强", "agent:li", now=created + dt.timedelta(minutes=30))
        tickets.change_status(self.session, second, IN_PROGRESS, "技师:李国强", now=self.local(self.anchor, 14))
        tickets.change_status(self.session, second, RESOLVED, "技师:李国强", note="更换 RO 膜滤芯，出水恢复正常",
                              now=self.local(self.anchor, 15, 30))


def counts(session: Session) -> Dict[str, Any]:
    def count(model) -> int:
        return session.execute(select(func.count()).select_from(model)).scalar_one()

    by_status = dict(session.execute(select(Ticket.status, func.count()).group_by(Ticket.status)).all())
    return {
        "customers": count(Customer),
        "products": count(RegisteredProduct),
        "orders": count(Order),
        "tickets": count(Ticket),
        "tickets_by_status": {status: by_status.get(status, 0) for status in STATUSES},
    }


def reset(session: Session) -> None:
    """Delete every row of every Kefu table (children first)."""
    for table in reversed(Base.metadata.sorted_tables):
        session.execute(delete(table))


def seed(url: Optional[str] = None, reset_first: bool = False, anchor: dt.date = DEFAULT_ANCHOR) -> bool:
    """Seed the database; False when it was seeded already (nothing changed)."""
    db.migrate(url)
    with db.session_scope(url) as session:
        if reset_first:
            reset(session)
        elif session.execute(select(Customer.id).where(Customer.phone == DEMO_CUSTOMERS[0]["phone"])).first():
            return False
        Seeder(session, anchor).run()
    return True


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m kefu.seed", description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: KEFU_DATABASE_URL or var/kefu.db)")
    parser.add_argument("--reset", action="store_true", help="delete all Kefu data first")
    parser.add_argument("--anchor", type=dt.date.fromisoformat, default=DEFAULT_ANCHOR,
                        help="the 'today' of the demo data, YYYY-MM-DD (default %(default)s)")
    parser.add_argument("--history", type=int, metavar="DAYS",
                        help="also seed DAYS of analytics history ending now (~275 conversations a day)")
    args = parser.parse_args(argv)
    if args.history:
        import time

        from kefu.analytics.history import HistoryExists, seed_history

        seed(args.url, args.reset, args.anchor)
        started = time.perf_counter()
        try:
            figures = seed_history(args.history, args.url)
        except HistoryExists as error:
            print(f"{error}")
            return
        print(f"history seeded in {time.perf_counter() - started:.1f} s: {figures}")
        return
    created = seed(args.url, args.reset, args.anchor)
    with db.session_scope(args.url) as session:
        summary = counts(session)
    print(("seeded: " if created else "already seeded, nothing changed: ") + str(summary))


if __name__ == "__main__":
    main()
