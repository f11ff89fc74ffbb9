"""The desk web app through Starlette's TestClient, against the fake Rasa server."""

from __future__ import annotations

import datetime as dt
import html
import re
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select
from starlette.routing import Route
from starlette.testclient import TestClient

from desk_support import COMPLAINT, PASSWORD, RASA_TOKEN, csrf_of, login
from kefu import clock as product_clock
from kefu import db
from kefu.escalation import Decision
from kefu.models import TicketEvent
from kefu.models.desk import Handoff
from kefu.services import tickets
from kefu.services.tickets import TicketRequest

EMERGENCY = Decision("safety_emergency", "维修调度", "抢修", "燃气泄漏", ("燃气味",))
HUMAN = Decision("human_request", "综合", "普通", "客户要求人工")


def handoff(clean_db, handoff_id: int) -> Handoff:
    with db.session_scope(clean_db) as session:
        row = session.get(Handoff, handoff_id)
        row.events  # noqa: B018  (load for use after the session)
        return row


# --- login, sessions ---------------------------------------------------------------------


def test_pages_need_login(app):
    client = TestClient(app)
    response = client.get("/desk/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].endswith("/desk/login?next=%2Fdesk%2F")
    assert client.get("/desk/handoffs/1/transcript").status_code == 401  # API: JSON, not a redirect


def test_login_with_right_and_wrong_password(app, users):
    client = TestClient(app)
    wrong = login(client, "zhang", "wrong password")
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    assert login(client, "nobody").status_code == 401
    right = login(client, "zhang")
    assert right.status_code == 303 and right.headers["location"] == "/desk/"
    page = client.get("/desk/")
    assert page.status_code == 200 and "张敏" in page.text and "待接入队列" in page.text


def test_password_is_stored_as_argon2_hash(clean_db, users):
    from kefu.models.desk import Agent

    with db.session_scope(clean_db) as session:
        stored = session.execute(select(Agent.password_hash).where(Agent.username == "zhang")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_inactive_user_cannot_log_in(app, users, clean_db):
    from kefu.models.desk import Agent

    with db.session_scope(clean_db) as session:
        session.execute(select(Agent).where(Agent.username == "li")).scalar_one().active = False
    assert login(TestClient(app), "li").status_code == 401


def test_session_expires_after_max_age(client_for, clock, app):
    client = client_for("zhang")
    assert client.get("/desk/", follow_redirects=False).status_code == 200
    clock.offset = dt.timedelta(minutes=app.state.config.web.session_max_age_minutes + 1)
    response = client.get("/desk/", follow_redirects=False)
    assert response.status_code == 303 and "/desk/login" in response.headers["location"]


def test_session_cookie_signature_expires(client_for, app, monkeypatch):
    import itsdangerous.timed

    client = client_for("zhang")
    max_age = app.state.config.web.session_max_age_minutes * 60
    real_time = itsdangerous.timed.time.time

    class Later:  # the signer reads time.time() from its own module
        @staticmethod
        def time() -> float:
            return real_time() + max_age + 5

    monkeypatch.setattr(itsdangerous.timed, "time", Later)
    response = client.get("/desk/", follow_redirects=False)
    assert response.status_code == 303 and "/desk/login" in response.headers["location"]


def test_logout_ends_the_session_and_presence(client_for, clean_db):
    from kefu.services import handoffs

    client = client_for("li")
    client.post("/desk/heartbeat", headers={"X-CSRF-Token": client.csrf})
    assert client.post("/desk/logout", data={"csrf_token": client.csrf}, follow_redirects=False).status_code == 303
    assert client.get("/desk/", follow_redirects=False).status_code == 303
    with db.session_scope(clean_db) as session:
        assert handoffs.agents_online(session, "投诉专席") == 0


def test_login_only_redirects_inside_the_desk(app, users):
    client = TestClient(app)
    page = client.get("/desk/login")
    response = client.post("/desk/login", data={"username": "zhang", "password": PASSWORD,
                                                "csrf_token": csrf_of(page.text), "next": "https://evil.example/"},
                           follow_redirects=False)
    assert response.headers["location"] == "/desk/"


# --- CSRF ----------------------------------------------------------------------------------


def test_every_post_route_is_csrf_protected(app):
    posts = [r for r in app.routes if isinstance(r, Route) and "POST" in (r.methods or ())]
    assert len(posts) >= 9
    for route in posts:
        assert getattr(route.endpoint, "csrf_protected", False), route.path


def test_posts_without_the_token_are_rejected(client_for, queue_handoff, clean_db, fake_rasa):
    handoff_id = queue_handoff()
    client = client_for("zhang")
    paths = ["/desk/logout", "/desk/heartbeat", f"/desk/handoffs/{handoff_id}/claim",
             f"/desk/handoffs/{handoff_id}/reply", f"/desk/handoffs/{handoff_id}/transfer",
             f"/desk/handoffs/{handoff_id}/resolve", "/desk/tickets/BX20261122-0001/status",
             "/desk/tickets/BX20261122-0001/notes"]
    for path in paths:
        assert client.post(path, data={"text": "hi", "group": "综合"}).status_code == 403, path
        assert client.post(path, headers={"X-CSRF-Token": "forged"}, json={}).status_code == 403, path
    assert client.post("/desk/login", data={"username": "zhang", "password": PASSWORD}).status_code == 403
    assert handoff(clean_db, handoff_id).status == "queued"
    assert fake_rasa.calls("/webhooks") == []
    # With the token the same claim goes through.
    ok = client.post(f"/desk/handoffs/{handoff_id}/claim", headers={"X-CSRF-Token": client.csrf})
    assert ok.status_code == 200


def test_token_from_before_login_is_worthless_after(app, users):
    client = TestClient(app)
    before = csrf_of(client.get("/desk/login").text)
    login(client, "zhang")
    assert client.post("/desk/heartbeat", headers={"X-CSRF-Token": before}).status_code == 403


# --- roles ---------------------------------------------------------------------------------


def test_roles(client_for, queue_handoff):
    handoff_id = queue_handoff()
    agent, boss, trainer = client_for("zhang"), client_for("boss"), client_for("tina")
    assert agent.get("/desk/supervisor").status_code == 403
    assert trainer.get("/desk/supervisor").status_code == 403
    assert boss.get("/desk/supervisor").status_code == 200
    # trainers work on the review pages only (issue 11; the full table: test_authorization_table.py)
    assert trainer.get("/desk/", follow_redirects=False).headers["location"] == "/desk/review/"
    assert trainer.get(f"/desk/handoffs/{handoff_id}").status_code == 403
    claim = trainer.post(f"/desk/handoffs/{handoff_id}/claim", headers={"X-CSRF-Token": trainer.csrf})
    assert claim.status_code == 403
    wang = client_for("wang")  # 维修调度 only: not this complaint's group
    claim = wang.post(f"/desk/handoffs/{handoff_id}/claim", headers={"X-CSRF-Token": wang.csrf})
    assert claim.status_code == 403 and claim.json()["error"] == "not_permitted"


# --- queue ---------------------------------------------------------------------------------


def row_ids(page: str) -> list[int]:
    waiting = page.split('id="queue-waiting"')[1].split("</table>")[0]
    return [int(i) for i in re.findall(r'<tr class="row" data-id="(\d+)"', waiting)]


def test_queue_sorted_by_priority_then_waiting_time(client_for, queue_handoff):
    old_human = queue_handoff("c-human", HUMAN, minutes_ago=30)
    complaint = queue_handoff("c-complaint", COMPLAINT, minutes_ago=5)
    old_complaint = queue_handoff("c-complaint-old", COMPLAINT, minutes_ago=12)
    gas = queue_handoff("c-gas", EMERGENCY, minutes_ago=1)
    boss = client_for("boss")
    assert row_ids(boss.get("/desk/").text) == [gas, old_complaint, complaint, old_human]
    assert row_ids(boss.get("/desk/queue/rows").text) == [gas, old_complaint, complaint, old_human]
    # Per group: zhang (投诉专席, 综合) does not see 维修调度's emergency in "my groups" ...
    zhang = client_for("zhang")
    assert row_ids(zhang.get("/desk/").text) == [old_complaint, complaint, old_human]
    # ... and one group tab shows only that group.
    assert row_ids(zhang.get("/desk/?group=综合").text) == [old_human]
    page = zhang.get("/desk/").text
    assert "12分" in page and "客户扬言向 12315 投诉" in page


def test_heartbeat_makes_the_agent_available(client_for, clean_db):
    from kefu.services import handoffs

    client = client_for("li")
    assert client.post("/desk/heartbeat", headers={"X-CSRF-Token": client.csrf}).json() == {"ok": True}
    with db.session_scope(clean_db) as session:
        assert handoffs.agents_online(session, "投诉专席") == 1


# --- claim, reply, transfer, resolve --------------------------------------------------------


def test_claim_sends_joined_notice_and_opens_conversation(client_for, queue_handoff, fake_rasa, clean_db):
    handoff_id = queue_handoff("conv-9")
    client = client_for("zhang")
    response = client.post(f"/desk/handoffs/{handoff_id}/claim", headers={"X-CSRF-Token": client.csrf})
    assert response.status_code == 200 and response.json()["url"].endswith(f"/desk/handoffs/{handoff_id}")
    (call,) = fake_rasa.calls("/webhooks/socketio/agent")
    assert call["headers"]["Authorization"] == f"Bearer {RASA_TOKEN}"
    assert call["json"]["sender_id"] == "conv-9" and call["json"]["kind"] == "joined"
    assert call["json"]["agent"] == {"id": "zhang", "name": "张敏"} and "张敏" in call["json"]["text"]
    row = handoff(clean_db, handoff_id)
    assert row.status == "claimed"
    page = client.get(f"/desk/handoffs/{handoff_id}").text
    assert 'id="reply-form"' in page and "投诉处理要点" in page and "五做" in page


def test_claim_race_over_http(client_for, queue_handoff, fake_rasa, clean_db):
    handoff_id = queue_handoff()
    clients = [client_for("zhang"), client_for("li"), client_for("boss")]
    barrier = threading.Barrier(len(clients), timeout=30)

    def claim(client: TestClient) -> int:
        barrier.wait()
        return client.post(f"/desk/handoffs/{handoff_id}/claim", headers={"X-CSRF-Token": client.csrf}).status_code

    with ThreadPoolExecutor(len(clients)) as pool:
        codes = sorted(pool.map(claim, clients))
    assert codes == [200, 409, 409]
    assert len(fake_rasa.calls("/webhooks/socketio/agent")) == 1  # one "joined", from the winner


def test_claim_is_undone_when_rasa_is_down(client_for, queue_handoff, fake_rasa, clean_db):
    handoff_id = queue_handoff()
    fake_rasa.fail = True
    client = client_for("zhang")
    response = client.post(f"/desk/handoffs/{handoff_id}/claim", headers={"X-CSRF-Token": client.csrf})
    assert response.status_code == 502 and "对话服务" in response.json()["message"]
    assert handoff(clean_db, handoff_id).status == "queued"  # someone else can still take it


def claimed(client_for, queue_handoff, username="zhang", **kwargs):
    handoff_id = queue_handoff(**kwargs)
    client = client_for(username)
    assert client.post(f"/desk/handoffs/{handoff_id}/claim", headers={"X-CSRF-Token": client.csrf}).status_code == 200
    return client, handoff_id


def test_reply_reaches_rasa_and_the_transcript(client_for, queue_handoff, fake_rasa):
    client, handoff_id = claimed(client_for, queue_handoff, conversation="conv-r")
    response = client.post(f"/desk/handoffs/{handoff_id}/reply", json={"text": "您好，我来帮您处理"},
                           headers={"X-CSRF-Token": client.csrf})
    assert response.status_code == 200
    call = fake_rasa.calls("/webhooks/socketio/agent")[-1]["json"]
    assert (call["kind"], call["text"], call["sender_id"]) == ("text", "您好，我来帮您处理", "conv-r")
    messages = client.get(f"/desk/handoffs/{handoff_id}/transcript?after=-1").json()["messages"]
    assert [(m["role"], m["text"]) for m in messages] == [
        ("customer", "我要打12315投诉你们"),
        ("system", "对话已转人工（机器人暂停）"),
        ("system", messages[2]["text"]),  # the joined notice
        ("agent", "您好，我来帮您处理"),
    ]
    assert messages[3]["agent"] == "张敏"
    last = messages[-1]["index"]
    assert client.get(f"/desk/handoffs/{handoff_id}/transcript?after={last}").json()["messages"] == []
    empty = client.post(f"/desk/handoffs/{handoff_id}/reply", json={"text": "  "}, headers={"X-CSRF-Token": client.csrf})
    assert empty.status_code == 400


def test_only_the_claimer_replies(client_for, queue_handoff):
    _, handoff_id = claimed(client_for, queue_handoff)
    li = client_for("li")
    response = li.post(f"/desk/handoffs/{handoff_id}/reply", json={"text": "插话"}, headers={"X-CSRF-Token": li.csrf})
    assert response.status_code == 403
    assert 'id="reply-form"' not in li.get(f"/desk/handoffs/{handoff_id}").text


def test_transfer_moves_the_conversation_to_another_group(client_for, queue_handoff, fake_rasa, clean_db):
    client, handoff_id = claimed(client_for, queue_handoff)
    response = client.post(f"/desk/handoffs/{handoff_id}/transfer",
                           data={"group": "维修调度", "note": "需要派师傅", "csrf_token": client.csrf},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].endswith("/desk/")
    row = handoff(clean_db, handoff_id)
    assert (row.status, row.group_name, row.claimed_by_id) == ("queued", "维修调度", None)
    assert [(e.kind, e.from_group, e.to_group, e.note) for e in row.events][-1] == (
        "transferred", "投诉专席", "维修调度", "需要派师傅")
    assert "维修调度" in fake_rasa.calls("/webhooks/socketio/agent")[-1]["json"]["text"]
    assert "已转交维修调度" in client.get("/desk/").text
    wang = client_for("wang")
    assert wang.post(f"/desk/handoffs/{handoff_id}/claim", headers={"X-CSRF-Token": wang.csrf}).status_code == 200


def test_resolve_hands_back_to_the_bot(client_for, queue_handoff, fake_rasa, clean_db):
    with db.session_scope(clean_db) as session:
        ticket_no = tickets.create_ticket(
            session, TicketRequest(type="complaint", phone="13900000009", description="师傅迟到")
        ).ticket.ticket_no
    client, handoff_id = claimed(client_for, queue_handoff, conversation="conv-x", ticket_no=ticket_no)
    response = client.post(f"/desk/handoffs/{handoff_id}/resolve",
                           data={"note": "已致歉，安排明早上门", "csrf_token": client.csrf}, follow_redirects=False)
    assert response.status_code == 303
    left = fake_rasa.calls("/webhooks/socketio/agent")[-1]["json"]
    assert left["kind"] == "left" and left["sender_id"] == "conv-x"
    (resume,) = fake_rasa.calls("/tracker/events")
    assert resume["json"] == [{"event": "resume"}, {"event": "action", "name": "action_listen"}] and resume["query"]["token"] == RASA_TOKEN
    (trigger,) = fake_rasa.calls("/trigger_intent")
    assert trigger["query"]["output_channel"] == "latest"
    assert trigger["json"] == {"name": "EXTERNAL_handoff_resolved", "entities": {"ticket_no": ticket_no}}
    assert fake_rasa.requests.index(resume) < fake_rasa.requests.index(trigger)
    assert handoff(clean_db, handoff_id).status == "resolved"
    with db.session_scope(clean_db) as session:
        notes = session.execute(select(TicketEvent.note).where(TicketEvent.kind == "note")).scalars().all()
    assert any("已致歉，安排明早上门" in n for n in notes)


def test_resolve_fails_cleanly_when_rasa_is_down(client_for, queue_handoff, fake_rasa, clean_db):
    client, handoff_id = claimed(client_for, queue_handoff)
    fake_rasa.fail = True
    response = client.post(f"/desk/handoffs/{handoff_id}/resolve", data={"csrf_token": client.csrf})
    assert response.status_code == 200 and "对话服务暂时无法连接" in response.text
    assert handoff(clean_db, handoff_id).status == "claimed"  # not handed back: still the agent's


def test_transcript_reports_rasa_errors(client_for, queue_handoff, fake_rasa):
    client, handoff_id = claimed(client_for, queue_handoff)
    fake_rasa.fail = True
    response = client.get(f"/desk/handoffs/{handoff_id}/transcript")
    assert response.status_code == 502 and response.json()["error"] == "rasa_unavailable"


# --- ticket panel, supervisor ---------------------------------------------------------------


def test_ticket_status_and_notes_from_the_conversation(client_for, queue_handoff, clean_db):
    with db.session_scope(clean_db) as session:
        ticket_no = tickets.create_ticket(
            session, TicketRequest(type="repair", phone="13900000008", product="空调", description="不制冷")
        ).ticket.ticket_no
    client, handoff_id = claimed(client_for, queue_handoff, ticket_no=ticket_no)
    back = f"/desk/handoffs/{handoff_id}"
    page = client.get(back).text
    assert ticket_no in page and "变更状态" in page
    response = client.post(f"/desk/tickets/{ticket_no}/status",
                           data={"status": "处理中", "note": "电话联系客户", "back": back, "csrf_token": client.csrf},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == back
    client.post(f"/desk/tickets/{ticket_no}/notes", data={"note": "客户要求周六上门", "back": back,
                                                         "csrf_token": client.csrf})
    bad = client.post(f"/desk/tickets/{ticket_no}/status", data={"status": "已关闭", "back": back,
                                                                "csrf_token": client.csrf})
    assert "工单不能变更到该状态" in bad.text
    with db.session_scope(clean_db) as session:
        ticket = tickets.get_ticket(session, ticket_no)
        assert ticket.status == "处理中"
        assert [e.kind for e in ticket.events] == ["created", "status_changed", "note"]
        assert ticket.events[1].actor == "agent:zhang"
    page = client.get(back).text
    assert "客户要求周六上门" in page and "电话联系客户" in page


def test_supervisor_sees_overdue_tickets_and_long_waits(client_for, queue_handoff, clean_db):
    with db.session_scope(clean_db) as session:
        old = tickets.create_ticket(
            session, TicketRequest(type="repair", phone="13900000007", product="冰箱", description="不制冷"),
            now=product_clock.now() - dt.timedelta(days=5),
        ).ticket.ticket_no
        fresh = tickets.create_ticket(
            session, TicketRequest(type="repair", phone="13900000006", product="冰箱", description="不制冷")
        ).ticket.ticket_no
    queue_handoff("slow", minutes_ago=25)
    queue_handoff("quick", minutes_ago=1, messages=[{"role": "customer", "text": "刚刚转的"}])
    page = client_for("boss").get("/desk/supervisor").text
    assert old in page and fresh not in page
    assert "处理超时" in page and "长期滞留" in page
    assert "我要打12315投诉你们" in page and "刚刚转的" not in page


# --- rendering ---------------------------------------------------------------------------------

XSS = ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>']


def test_customer_text_is_rendered_as_text(client_for, queue_handoff):
    handoff_id = queue_handoff(
        "conv-xss",
        Decision("complaint_severe", "投诉专席", "高", "原因<b>粗体</b>", tuple(XSS)),
        messages=[{"role": "customer", "text": XSS[0]}, {"role": "customer", "text": XSS[1]}],
        slots={"address": XSS[1], "complaint_detail": XSS[0]},
        intent="<svg onload=alert(1)>",
    )
    client = client_for("zhang")
    for page in (client.get("/desk/").text, client.get("/desk/queue/rows").text,
                 client.get(f"/desk/handoffs/{handoff_id}").text):
        for attack in XSS:
            assert attack not in page
        assert html.escape(XSS[1], quote=False) in page or "&lt;img src=x onerror=alert(1)&gt;" in page
        assert "<b>粗体</b>" not in page and "<svg" not in page
    conversation = client.get(f"/desk/handoffs/{handoff_id}").text
    # The hand-over messages are embedded as JSON that cannot close its <script> element.
    embedded = conversation.split('id="summary-messages">')[1].split("</script>")[0]
    assert "<" not in embedded and "\\u003cscript\\u003e" in embedded


def test_desk_pages_send_a_strict_content_security_policy(client_for):
    response = client_for("zhang").get("/desk/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


def test_root_redirects_to_the_widget_demo(app):
    response = TestClient(app).get("/", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == "/widget/demo"
    assert any(getattr(r, "path", "") == "/widget" for r in app.routes)
