"""A scripted evening at the desk: 50 customers over the real stack, on a moving stack clock.

    python scripts/queue_evening.py [--model models/x.tar.gz] [--screenshots docs/images] [--concurrency 4]

Starts its own stack (Rasa, action server, desk; ports from KEFU_RASA_PORT /
KEFU_ACTIONS_PORT / KEFU_WEB_PORT) on a fresh SQLite database, with the e2e queue
timings (grace period 4 s, sweep every second; tests/e2e/e2e_support.py), and plays:

- Sunday 23:10, agents off duty: 10 customers ask for a person; 4 book the call-back,
  6 close the chat. The clock moves past queue.callback_offer_minutes: 6 expire.
- Monday 19:30, one supervisor on the desk: 40 customers ask for a person (综合) or
  threaten a complaint (投诉专席). 20 stay, 6 reload the page, 8 close the tab, 3 close
  it and come back too late, 3 stay connected but never write again.
- 10 minutes after the last arrival those still there ask how long it takes; then the
  clock moves until the silent ones pass queue.inactivity_minutes.

Then it prints the live queue next to the customers who are still there (position and
estimate as the desk computes them and as the customer's widget is told), the follow-up
list (abandoned/expired), and exits non-zero on any mismatch. With --screenshots it
saves the desk's queue and follow-up pages (Playwright + /usr/bin/chromium).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "e2e")]

import httpx  # noqa: E402

from e2e_support import Customer, e2e_config  # noqa: E402
from kefu import clock, db  # noqa: E402

BEIJING = dt.timezone(dt.timedelta(hours=8))
SUNDAY_2310 = dt.datetime(2026, 12, 6, 23, 10, tzinfo=BEIJING)
MONDAY_1930 = dt.datetime(2026, 12, 7, 19, 30, tzinfo=BEIJING)
PASSWORD = "evening correct horse"
ASK_HUMAN = "我要找人工客服"
COMPLAINT = "我要去12315投诉你们，修了三次还没好"
# 综合: measured handling times (minutes) of the last days; 投诉专席 has too few -> configured.
HISTORY = {"综合": [3, 4, 4, 5, 5, 6, 9, 12], "投诉专席": [10, 20]}


@dataclass
class Guest:
    label: str
    role: str  # stay / reload / leave / comeback / silent / book / walkaway
    text: str
    customer: Optional[Customer] = None
    first_card: dict = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


class Desk:
    def __init__(self, url: str, username: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=30)
        page = self.client.get("/desk/login")
        r = self.client.post("/desk/login", data={"username": username, "password": PASSWORD,
                                                  "csrf_token": csrf_of(page.text), "next": "/desk/"})
        if r.status_code != 303:
            raise SystemExit(f"desk login failed: HTTP {r.status_code}")
        self.csrf = csrf_of(self.client.get("/desk/").text)

    def heartbeat(self) -> None:
        self.client.post("/desk/heartbeat", headers={"X-CSRF-Token": self.csrf}).raise_for_status()


def seed(db_url: str) -> None:
    from kefu.services.agents import create_agent
    from kefu.escalation import Decision
    from kefu.services import handoffs

    decisions = {"综合": Decision("human_request", "综合", "普通", "客户要求人工"),
                 "投诉专席": Decision("complaint_severe", "投诉专席", "高", "客户扬言投诉")}
    with db.session_scope(db_url) as session:
        boss = create_agent(session, username="evening_boss", display_name="赵主管", password=PASSWORD,
                            role="supervisor", groups=["投诉专席", "维修调度", "VIP专席", "综合"])
        start = MONDAY_1930.replace(hour=9)
        for group, minutes in HISTORY.items():
            for i, length in enumerate(minutes):
                at = start + dt.timedelta(minutes=40 * i)
                handoffs.heartbeat(session, boss, now=at)
                queued = handoffs.queue_handoff(session, conversation_id=f"history-{group}-{i}",
                                                decision=decisions[group], now=at)
                handoffs.claim(session, queued.handoff.id, boss, now=at)
                handoffs.resolve(session, queued.handoff.id, boss, now=at + dt.timedelta(minutes=length))
        handoffs.sign_off(session, boss.id)


async def connect(rasa_url: str, guest: Guest, session_id: Optional[str] = None) -> Customer:
    customer = Customer(rasa_url, session_id=session_id)
    await customer.__aenter__()
    return customer


def is_card(message: dict) -> bool:
    return (message.get("custom") or {}).get("type") == "queue"


async def ask(rasa_url: str, guest: Guest, gate: asyncio.Semaphore, expect_card: bool) -> None:
    async with gate:
        guest.customer = await connect(rasa_url, guest)
        await guest.customer.say(guest.text)
        if expect_card:
            guest.first_card = (await guest.customer.wait_for(is_card, 180))["custom"]
        else:  # off hours: the bot offers a call-back and asks for a phone
            await guest.customer.wait_for(lambda m: "手机" in (m.get("text") or ""), 180)


async def peek(rasa_url: str, guest: Guest) -> dict:
    """A second tab of the same chat: the widget is told the current place."""
    tab = await connect(rasa_url, guest, guest.customer.session_id)
    try:
        return (await tab.wait_for(is_card, 30))["custom"]
    finally:
        await tab.client.disconnect()


async def close(guest: Guest) -> None:
    if guest.customer and guest.customer.client.connected:
        await guest.customer.client.disconnect()


def wait_until(predicate, timeout: float, what: str, show=None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}" + (f": {show()}" if show else ""))
        time.sleep(0.5)


def statuses(db_url: str, guests: List[Guest]) -> Dict[str, str]:
    from kefu.models.desk import Handoff
    from sqlalchemy import select

    ids = {g.customer.session_id: g.label for g in guests}
    with db.session_scope(db_url) as session:
        rows = session.execute(select(Handoff.conversation_id, Handoff.status).where(
            Handoff.conversation_id.in_(list(ids)))).all()
    return {ids[c]: s for c, s in rows}


def latest(db_url: str, guests: List[Guest], column: str) -> dt.datetime:
    """The latest value of a handoff timestamp column among ``guests`` (turns take real time)."""
    from kefu.models.desk import Handoff
    from sqlalchemy import func, select

    with db.session_scope(db_url) as session:
        return session.execute(select(func.max(getattr(Handoff, column))).where(
            Handoff.conversation_id.in_([g.customer.session_id for g in guests]))).scalar_one()


async def evening(stack, db_url: str, concurrency: int) -> List[Guest]:
    rasa = stack.rasa_url
    gate = asyncio.Semaphore(concurrency)

    from kefu.escalation.desk_config import desk_config

    print("== Sunday 23:10, agents off duty: 10 customers ask for a person")
    night = [Guest(f"夜{i + 1:02d}", "book" if i < 4 else "walkaway", ASK_HUMAN) for i in range(10)]
    await asyncio.gather(*(ask(rasa, g, gate, expect_card=False) for g in night))
    for i, guest in enumerate(night[:4]):
        await guest.customer.say(f"1380013800{i}")
        booked = await guest.customer.wait_for(lambda m: "工单号" in (m.get("text") or ""), 120)
        guest.notes.append(re.search(r"[A-Z]{2}\d{8}-\d{4}", booked["text"]).group(0))
    for guest in night:
        await close(guest)
    offered_last = latest(db_url, night, "created_at")
    clock.write_fake_now(stack.clock_file, offered_last + dt.timedelta(minutes=desk_config().queue.callback_offer_minutes,
                                                                      seconds=30))
    await asyncio.to_thread(wait_until, lambda: Counter(statuses(db_url, night).values())["expired"] == 6, 60,
                            "6 expired call-back offers", lambda: statuses(db_url, night))
    print("   ", dict(Counter(statuses(db_url, night).values())))

    print("== Monday 19:30, one supervisor on the desk: 40 customers ask for a person")
    clock.write_fake_now(stack.clock_file, MONDAY_1930)
    desk = Desk(stack.web_url, "evening_boss")
    desk.heartbeat()
    roles = ["stay"] * 20 + ["reload"] * 6 + ["leave"] * 8 + ["comeback"] * 3 + ["silent"] * 3
    order = [roles[(i * 7) % 40] for i in range(40)]  # a deterministic mix of roles in arrival order
    evening_guests = [Guest(f"客{i + 1:02d}", role, COMPLAINT if i % 3 == 0 else ASK_HUMAN)
                      for i, role in enumerate(order)]
    for start in range(0, 40, concurrency):
        await asyncio.gather(*(ask(rasa, g, gate, expect_card=True) for g in evening_guests[start:start + concurrency]))
        desk.heartbeat()

    for guest in evening_guests:
        if guest.role == "reload":
            session_id = guest.customer.session_id
            await close(guest)
            guest.customer = await connect(rasa, guest, session_id)
            card = (await guest.customer.wait_for(is_card, 30))["custom"]
            guest.notes.append(f"reloaded at place {card['position']}")
        elif guest.role in ("leave", "comeback"):
            await close(guest)
    gone = [g for g in evening_guests if g.role in ("leave", "comeback")]
    await asyncio.to_thread(
        wait_until, lambda: set(statuses(db_url, gone).values()) == {"abandoned"}, 60, "closed tabs to be abandoned",
        lambda: statuses(db_url, gone))
    for guest in evening_guests:
        if guest.role == "comeback":
            guest.customer = await connect(rasa, guest, guest.customer.session_id)
            told = await guest.customer.wait_for(lambda m: "排队已取消" in (m.get("text") or ""), 30)
            guest.notes.append("told: " + told["text"][:14] + "…")

    moment = latest(db_url, evening_guests, "created_at") + dt.timedelta(minutes=10)
    print(f"== {moment.astimezone(BEIJING):%H:%M}: those still there ask how long it takes")
    clock.write_fake_now(stack.clock_file, moment)
    desk.heartbeat()
    for guest in evening_guests:
        if guest.role in ("stay", "reload"):
            await guest.customer.say("请问还要等多久？")
    await asyncio.sleep(2)
    silent = [g for g in evening_guests if g.role == "silent"]
    last_word = latest(db_url, silent, "customer_seen_at")
    moment = last_word + dt.timedelta(minutes=desk_config().queue.inactivity_minutes, seconds=30)
    print(f"== {moment.astimezone(BEIJING):%H:%M}: the silent ones pass queue.inactivity_minutes")
    clock.write_fake_now(stack.clock_file, moment)
    desk.heartbeat()
    await asyncio.to_thread(
        wait_until, lambda: set(statuses(db_url, silent).values()) == {"abandoned"}, 60, "silent customers to leave",
        lambda: statuses(db_url, silent))
    desk.heartbeat()
    return night + evening_guests


async def check(stack, db_url: str, guests: List[Guest]) -> bool:
    from kefu.escalation.desk_config import desk_config
    from kefu.models.desk import Handoff
    from kefu.services import handoffs

    config = desk_config()
    now = clock.now()
    with db.session_scope(db_url) as session:
        live = handoffs.live_queue(session, now=now, config=config)
        online = {g: handoffs.agents_online(session, g, now=now, config=config) for g in config.groups}
        handling = {g: handoffs.handling_minutes(session, g, now=now, config=config) for g in config.groups}
        follow = [(h.conversation_id, h.status, h.group_name, h.resolved_at,
                   next((e.note for e in h.events if e.kind in ("abandoned", "expired")), ""))
                  for h in handoffs.follow_ups(session)]
        all_status = Counter(s for (s,) in session.query(Handoff.status).filter(~Handoff.conversation_id.like("history-%")))
    by_session = {g.customer.session_id: g for g in guests}
    there = {g.customer.session_id for g in guests if g.role in ("stay", "reload")}
    live_ids = [h.conversation_id for h in live]
    ok = set(live_ids) == there and len(live_ids) == len(there)

    local = now.astimezone(BEIJING)
    print(f"\n== Live queue at {local:%a %H:%M} (Beijing): {len(live_ids)} waiting; customers still there: {len(there)}"
          f" -> {'MATCH' if ok else 'MISMATCH'}")
    for group, (minutes, measured) in handling.items():
        if any(h.group_name == group for h in live):
            print(f"   {group}: {online[group]} agent(s) online, handling time {minutes:g} min "
                  f"({'median of recent handoffs' if measured else 'configured, too few measured'})")
    print(f"   {'customer':8} {'group':6} {'role':7} {'desk pos':>8} {'widget pos':>10} {'desk est':>8} "
          f"{'widget est':>10}")
    places: Dict[str, int] = Counter()
    for handoff in live:
        places[handoff.group_name] += 1
        pos = places[handoff.group_name]
        minutes, _ = handling[handoff.group_name]
        estimate = handoffs.expected_wait(pos, minutes, online[handoff.group_name])
        guest = by_session.get(handoff.conversation_id)
        card = await peek(stack.rasa_url, guest) if guest else {}
        # The widget rounds a zero estimate up to one minute.
        same = card.get("position") == pos and card.get("wait_minutes") == max(estimate, 1)
        ok &= same and guest is not None
        print(f"   {guest.label if guest else '?':8} {handoff.group_name:6} {guest.role if guest else '?':7} "
              f"{pos:>8} {card.get('position', '-'):>10} {estimate:>8} {card.get('wait_minutes', '-'):>10}"
              f"{'' if same else '   <-- differs'}")
    print(f"\n== Follow-up list (离开/过期待跟进): {len(follow)}")
    for conversation, status, group, closed_at, note in follow:
        guest = by_session.get(conversation)
        print(f"   {guest.label if guest else conversation:8} {status:9} {group:6} "
              f"{closed_at.astimezone(BEIJING):%a %H:%M}  {note}  {'; '.join(guest.notes) if guest else ''}")
    expected_follow = sum(1 for g in guests if g.role in ("leave", "comeback", "silent", "walkaway"))
    ok &= len(follow) == expected_follow
    print(f"\n== All handoffs of the evening by status: {dict(all_status)}")
    booked = [g for g in guests if g.role == "book"]
    print(f"   call-back tickets booked off hours: {', '.join(n for g in booked for n in g.notes)}")
    ok &= all_status["callback"] == len(booked) == 4
    print(f"\nRESULT: {'OK' if ok else 'MISMATCH'}")
    return ok


def screenshots(web_url: str, target: Path) -> None:
    from playwright.sync_api import sync_playwright

    target.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        page.goto(f"{web_url}/desk/login")
        page.fill("input[name=username]", "evening_boss")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(target / "desk_queue_evening.png"), full_page=True)
        page.goto(f"{web_url}/desk/followups")
        page.wait_for_selector("#followups")
        page.locator("#followups details").first.evaluate("d => d.open = true")  # one transcript unfolded
        page.screenshot(path=str(target / "desk_followups.png"), full_page=True)
        browser.close()
    print(f"screenshots: {target / 'desk_queue_evening.png'}, {target / 'desk_followups.png'}")


def latest_model() -> str:
    from kefu.settings import latest_model as newest

    model = newest(ROOT / "models")
    if model is None:
        raise SystemExit("no trained model in models/ (./kefu.sh train)")
    return str(model)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--screenshots", type=Path, default=None, help="directory for the desk screenshots")
    parser.add_argument("--concurrency", type=int, default=4, help="customers talking at the same time")
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="kefu-evening-"))
    db_url = f"sqlite:///{var / 'kefu.db'}"
    clock_file = var / "fake-now.json"
    clock.write_fake_now(clock_file, SUNDAY_2310)
    env = {"KEFU_ALLOW_FAKE_CLOCK": "1", "KEFU_FAKE_NOW_FILE": str(clock_file), "KEFU_VAR_DIR": str(var),
           "KEFU_DATABASE_URL": db_url, "KEFU_CONFIG_DIR": str(e2e_config(var / "config")),
           "KEFU_RASA_TOKEN": "evening-" + os.urandom(8).hex(), "RASA_TELEMETRY_ENABLED": "false"}
    os.environ.update(env)  # this process reads the same clock, database and configuration
    clock.configure()
    db.migrate(db_url)
    seed(db_url)

    from kefu.runtime.stack import Ports, start_stack

    print(f"starting the stack (logs in {var / 'logs'}) ...", flush=True)
    started = time.monotonic()
    stack = start_stack(ports=Ports(), env=env, model=args.model or latest_model(), with_web=True,
                        log_dir=var / "logs")
    stack.clock_file = clock_file  # type: ignore[attr-defined]
    print(f"stack up in {time.monotonic() - started:.0f} s", flush=True)
    try:
        async def run() -> bool:
            guests = await evening(stack, db_url, args.concurrency)
            try:
                ok = await check(stack, db_url, guests)
                if args.screenshots:  # while the customers are still there (closing their tabs ends that)
                    await asyncio.to_thread(screenshots, stack.web_url, args.screenshots)
                return ok
            finally:
                for guest in guests:
                    await close(guest)

        ok = asyncio.run(run())
    finally:
        stack.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
