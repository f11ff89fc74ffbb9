"""Desk care lists: maintenance due (supervisors, CSV) and the 回访 queue (issue 14)."""
from __future__ import annotations

import csv
import datetime as dt
import io

from kefu import clock, db
from kefu.models import RegisteredProduct
from kefu.services import customers, tickets
from kefu.services.tickets import TicketRequest


def seed(db_url):
    now = clock.now()
    with db.session_scope(db_url) as session:
        due, _ = customers.get_or_create_customer(session, "13900000801", name="孙丽")
        fine, _ = customers.get_or_create_customer(session, "13900000802", name="钱伟")
        session.add(RegisteredProduct(customer=due, category="净水器", model="RO-500",
                                      install_date=(now - dt.timedelta(days=200)).date()))
        session.add(RegisteredProduct(customer=fine, category="净水器", model="RO-400",
                                      install_date=(now - dt.timedelta(days=20)).date()))
        old = tickets.create_ticket(session, TicketRequest(type="repair", customer_id=due.id, product="空调"),
                                    now=now - dt.timedelta(days=3)).ticket
        new = tickets.create_ticket(session, TicketRequest(type="repair", customer_id=fine.id, product="冰箱"),
                                    now=now - dt.timedelta(hours=5)).ticket
        for status in ("已派单", "处理中", "已解决"):
            tickets.change_status(session, old, status, "agent:wang", now=now - dt.timedelta(days=2))
            tickets.change_status(session, new, status, "agent:wang", now=now - dt.timedelta(hours=2))
        return old.ticket_no, new.ticket_no


def test_supervisor_lists_and_exports_who_is_due(app, clean_db, client_for):
    seed(clean_db)
    boss = client_for("boss")
    page = boss.get("/desk/care/maintenance")
    assert page.status_code == 200 and "孙丽" in page.text and "更换滤芯" in page.text
    assert "钱伟" not in page.text  # installed 20 days ago: not due
    exported = boss.get("/desk/care/maintenance.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["客户", "手机号", "等级"]
    assert [r[:2] + r[4:7] for r in rows[1:]] == [["孙丽", "13900000801", "净水器", "RO-500", "更换滤芯"]]
    assert rows[1][8] == "否"


def test_survey_queue_lists_old_resolutions_and_records_a_call(app, clean_db, client_for):
    old, new = seed(clean_db)
    agent = client_for("wang")
    page = agent.get("/desk/care/surveys")
    assert f'data-ticket="{old}"' in page.text and f'data-ticket="{new}"' not in page.text  # resolved 2 h ago: not yet (24 h in service.yml)
    assert '<td class="num">2 天</td>' in page.text  # waits of two days and more read in days
    response = agent.post(f"/desk/care/surveys/{old}", data={"score": "2", "comment": "师傅迟到"},
                          headers={"X-CSRF-Token": agent.csrf}, follow_redirects=False)
    assert response.status_code == 303
    with db.session_scope(clean_db) as session:
        ticket = tickets.get_ticket(session, old)
        assert ticket.status == "已回访" and ticket.survey.score == 2 and ticket.survey.comment == "师傅迟到"
        assert ticket.events[-1].actor == "agent:wang"
    after = agent.get("/desk/care/surveys").text
    assert f"已记录工单 {old} 的回访评分：2 分" in after and f'data-ticket="{old}"' not in after
    bad = agent.post(f"/desk/care/surveys/{new}", data={"score": "9"}, headers={"X-CSRF-Token": agent.csrf},
                     follow_redirects=True)
    assert "已记录" not in bad.text
    with db.session_scope(clean_db) as session:
        assert tickets.get_ticket(session, new).status == "已解决"
