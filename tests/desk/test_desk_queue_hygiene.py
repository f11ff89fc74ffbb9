"""Desk side of queue hygiene: the live queue page, the follow-up list with its bulk
close, and the sweeper (abandons, unpauses the conversation in Rasa, retries when Rasa is down)."""

from __future__ import annotations

import datetime as dt
import re
import time

from starlette.testclient import TestClient

from desk import sweeper
from desk.app import create_app
from kefu.rasa_http import RasaClient
from desk_support import RASA_TOKEN
from kefu import clock, db
from kefu.escalation.desk_config import desk_config
from kefu.models.desk import Handoff
from kefu.services import handoffs

CFG = desk_config()
GRACE = dt.timedelta(seconds=CFG.queue.grace_seconds)


def row_ids(page: str, table: str) -> list:
    match = re.search(rf'<table[^>]*id="{table}".*?</table>', page, re.S)
    return [int(i) for i in re.findall(r'<tr class="row[^"]*" data-id="(\d+)"', match.group(0))] if match else []


def status(clean_db, handoff_id):
    with db.session_scope(clean_db) as session:
        return session.get(Handoff, handoff_id).status


def leave(clean_db, conversation, at):
    with db.session_scope(clean_db) as session:
        assert handoffs.customer_left(session, conversation, now=at)


def test_queue_page_shows_only_customers_still_there(client_for, queue_handoff, clean_db, pinned_clock):
    here = queue_handoff("c-here")
    away = queue_handoff("c-away")
    gone = queue_handoff("c-gone")
    leave(clean_db, "c-away", clock.now())
    leave(clean_db, "c-gone", clock.now() - GRACE)
    boss = client_for("boss")
    page = boss.get("/desk/").text
    assert row_ids(page, "queue-waiting") == [here, away]  # gone: past the grace period
    assert "暂离" in page  # away within the grace period keeps the place, marked
    assert gone not in row_ids(boss.get("/desk/queue/rows").text, "queue-waiting")


def test_sweep_abandons_and_releases_the_conversation(clean_db, fake_rasa, queue_handoff, client_for):
    kept = queue_handoff("c-kept")
    gone = queue_handoff("c-gone")
    leave(clean_db, "c-gone", clock.now())
    rasa = RasaClient(base_url=fake_rasa.url, token=RASA_TOKEN, timeout=3)
    try:
        report = sweeper.sweep_once(clean_db, rasa, CFG, now=clock.now() + GRACE)
    finally:
        rasa.close()
    assert (report.abandoned, report.expired, report.failed) == ([gone], [], [])
    assert (status(clean_db, gone), status(clean_db, kept)) == ("abandoned", "queued")
    [release] = fake_rasa.calls("/conversations/c-gone/tracker/events")
    assert [e["event"] for e in release["json"]] == ["resume", "action", "slot"]
    # The follow-up list shows it, with the transcript; the queue does not.
    boss = client_for("boss")
    assert row_ids(boss.get("/desk/").text, "queue-waiting") == [kept]
    followups = boss.get("/desk/followups").text
    assert row_ids(followups, "followups") == [gone]
    assert "客户已离开" in followups and "我要打12315投诉你们" in followups


def test_sweep_keeps_the_item_when_rasa_is_down(clean_db, fake_rasa, queue_handoff):
    gone = queue_handoff("c-gone")
    leave(clean_db, "c-gone", clock.now())
    fake_rasa.fail = True
    rasa = RasaClient(base_url=fake_rasa.url, token=RASA_TOKEN, timeout=3)
    try:
        report = sweeper.sweep_once(clean_db, rasa, CFG, now=clock.now() + GRACE)
        assert (report.abandoned, report.failed) == ([], [gone])
        assert status(clean_db, gone) == "queued"  # the paused conversation is not lost; retried
        fake_rasa.fail = False
        assert sweeper.sweep_once(clean_db, rasa, CFG, now=clock.now() + GRACE).abandoned == [gone]
    finally:
        rasa.close()


def test_the_desk_process_runs_the_sweeper(clean_db, fake_rasa, queue_handoff, pinned_clock):
    gone = queue_handoff("c-gone")
    leave(clean_db, "c-gone", clock.now())
    pinned_clock.advance(seconds=CFG.queue.grace_seconds)
    rasa = RasaClient(base_url=fake_rasa.url, token=RASA_TOKEN, timeout=3)
    app = create_app(db_url=clean_db, rasa=rasa, session_secret="desk-test-secret")
    with TestClient(app):  # lifespan: the sweeper sweeps at start-up, then every sweep_seconds
        for _ in range(100):
            if status(clean_db, gone) == "abandoned":
                break
            time.sleep(0.1)
    rasa.close()
    assert status(clean_db, gone) == "abandoned"


def abandoned(clean_db, queue_handoff, conversation, at):
    handoff_id = queue_handoff(conversation)
    leave(clean_db, conversation, at - GRACE)
    with db.session_scope(clean_db) as session:
        assert handoffs.abandon(session, handoff_id, now=at) is not None
    return handoff_id


def test_supervisor_closes_follow_ups_in_bulk(client_for, queue_handoff, clean_db, pinned_clock):
    old = [abandoned(clean_db, queue_handoff, f"old{i}", clock.now()) for i in range(2)]
    pinned_clock.advance(days=CFG.queue.stale_days, minutes=1)
    recent = [abandoned(clean_db, queue_handoff, f"new{i}", clock.now()) for i in range(2)]
    boss = client_for("boss")
    page = boss.get("/desk/followups").text
    assert row_ids(page, "followups") == recent[::-1] + old[::-1]
    assert "关闭超过 2 天的全部（2）" in page
    response = boss.post("/desk/followups/close", data={"csrf_token": boss.csrf, "scope": "stale", "note": "已回访"},
                         follow_redirects=False)
    assert response.status_code == 303
    assert row_ids(boss.get("/desk/followups").text, "followups") == recent[::-1]
    boss.post("/desk/followups/close", data={"csrf_token": boss.csrf, "scope": "selected",
                                             "handoff_id": [str(recent[0])]})
    assert row_ids(boss.get("/desk/followups").text, "followups") == [recent[1]]
    # Agents see the list of their groups but may not close items.
    zhang = client_for("zhang")
    assert row_ids(zhang.get("/desk/followups").text, "followups") == [recent[1]]
    assert "关闭所选" not in zhang.get("/desk/followups").text
    denied = zhang.post("/desk/followups/close", data={"csrf_token": zhang.csrf, "scope": "stale"})
    assert denied.status_code == 403
