"""Customer care lists (issue 14, part 2): who is due for maintenance (supervisors, CSV for an
outbound campaign) and the 回访 queue (resolved tickets without a survey after
``survey.followup_after_hours``) that agents call and record the score of.

The figures come from kefu/services (archive.maintenance_due, surveys.followup_queue).
"""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from desk import csrf
from desk.views import STAFF, error_text, flash, pop_flash
from desk.web import config, in_db, now, render, requires
from kefu.errors import KefuError
from kefu.models.desk import Agent
from kefu.services import archive, surveys, tickets
from kefu.settings import service_config

MAINTENANCE_COLUMNS = ("客户", "手机号", "等级", "城市", "产品", "型号", "保养项目", "到期日", "机器人已提醒")


def maintenance_rows(session: Session, moment) -> list:
    rows = []
    for due in archive.maintenance_due(session, now=moment):
        customer = due.product.customer
        rows.append({
            "name": customer.name or "", "phone": customer.phone, "tier": customer.tier, "city": customer.city or "",
            "category": due.product.category, "model": due.product.model or "", "item": due.item,
            "due_on": due.due_on.isoformat(), "reminded": due.reminded,
        })
    return rows


@requires("supervisor")
async def maintenance_page(request: Request) -> Response:
    rows = await in_db(request, maintenance_rows, now(request))
    return render(request, "care_maintenance.html", {"rows": rows})


@requires("supervisor")
async def maintenance_csv(request: Request) -> Response:
    rows = await in_db(request, maintenance_rows, now(request))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(MAINTENANCE_COLUMNS)
    for r in rows:
        writer.writerow([r["name"], r["phone"], r["tier"], r["city"], r["category"], r["model"], r["item"],
                         r["due_on"], "是" if r["reminded"] else "否"])
    day = now(request).astimezone(config(request).tz).date().isoformat()
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",  # BOM: Excel reads Chinese
                    headers={"Content-Disposition": f'attachment; filename="kefu-maintenance-due-{day}.csv"'})


@requires(*STAFF)
async def surveys_page(request: Request) -> Response:
    tz = config(request).tz

    def load(session: Session) -> list:
        moment = now(request)
        rows = []
        for ticket in surveys.followup_queue(session, now=moment):
            customer = ticket.customer
            rows.append({
                **tickets.ticket_summary(ticket, moment),
                "name": (customer.name if customer else None) or ticket.contact_name or "",
                "phone": customer.phone if customer else "",
                "tier": customer.tier if customer else "",
                "resolved": ticket.resolved_at.astimezone(tz).strftime("%m-%d %H:%M"),
                "waiting_hours": int((moment - ticket.resolved_at).total_seconds() // 3600),
            })
        return rows

    rows = await in_db(request, load)
    return render(request, "care_surveys.html", {
        "rows": rows, "hours": service_config().survey.followup_after_hours, "flashes": pop_flash(request)})


@csrf.protect
@requires(*STAFF)
async def record_phone_survey(request: Request) -> Response:
    """The score a customer gave on the 回访 call."""
    me: Agent = request.state.agent
    form = await request.form()
    ticket_no = request.path_params["ticket_no"]
    back = RedirectResponse(str(request.url_for("care_surveys")), status_code=303)
    try:
        score = int(str(form.get("score", "")))
    except ValueError:
        flash(request, "请选择 1–5 分。")
        return back
    comment = str(form.get("comment", "")).strip()[:500] or None

    def work(session: Session) -> None:
        ticket = tickets.get_ticket(session, ticket_no)
        surveys.record_survey(session, ticket, score, comment, actor=f"agent:{me.username}", now=now(request))

    try:
        await in_db(request, work)
    except KefuError as error:
        flash(request, error_text(error))
        return back
    flash(request, f"已记录工单 {ticket_no} 的回访评分：{score} 分。", "ok")
    return back


def routes() -> list:
    post = ["POST"]
    return [
        Route("/desk/care/maintenance", maintenance_page, name="care_maintenance"),
        Route("/desk/care/maintenance.csv", maintenance_csv, name="care_maintenance_csv"),
        Route("/desk/care/surveys", surveys_page, name="care_surveys"),
        Route("/desk/care/surveys/{ticket_no}", record_phone_survey, methods=post, name="care_survey_record"),
    ]
