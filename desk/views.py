"""Desk pages and actions. Database work runs in ``in_db`` (one transaction in a worker
thread); calls to Rasa happen inside that transaction, so a failed call undoes the
desk's change (a claim without the "joined" notice, a resolve without the hand-back).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Optional

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from kefu.errors import KefuError
from kefu.models.desk import CLAIMED, QUEUED, Agent, Handoff
from kefu.models.service import SURVEYED, TRANSITIONS
from kefu.services import handoffs, surveys, tickets
from desk import auth, authz, csrf, lockout
from kefu.rasa_http import AgentInfo, RasaUnavailable
from desk.transcript import transcript
from desk.web import config, in_db, log_in, log_out, now, render, requires, safe_next

STAFF = ("agent", "supervisor")
EVERYONE = ("agent", "supervisor", "trainer")
MAX_REPLY = 2000

ERROR_TEXT = {
    "handoff_taken": "该会话已被其他坐席接入或已结束。",
    "invalid_handoff_state": "该会话当前状态不允许此操作，请刷新页面。",
    "not_permitted": "您无权处理该会话（不属于您的分组或已由他人接入）。",
    "not_found": "找不到该记录。",
    "rasa_unavailable": "对话服务暂时无法连接，操作未生效，请稍后重试。",
    "invalid_transition": "工单不能变更到该状态。",
    "not_cancellable": "工单当前状态不能取消。",
    "invalid_request": "提交的内容不完整或无效。",
}


ERROR_STATUS = {"rasa_unavailable": 502, "not_found": 404, "not_permitted": 403,
                "handoff_taken": 409, "invalid_handoff_state": 409}


def error_text(error: KefuError) -> str:
    return ERROR_TEXT.get(error.code, "操作失败，请重试。")


def error_json(error: KefuError) -> JSONResponse:
    body = {"error": error.code, "message": error_text(error)}
    return JSONResponse(body, status_code=ERROR_STATUS.get(error.code, 400))


def forbidden(api: bool = False) -> Response:
    """What a desk user gets for something their role or groups do not cover (authz.py)."""
    if api:
        return JSONResponse({"error": "not_permitted", "message": ERROR_TEXT["not_permitted"]}, status_code=403)
    return PlainTextResponse("您无权访问该内容（不属于您的分组或角色）。", status_code=403)


def flash(request: Request, text: str, kind: str = "error") -> None:
    request.session.setdefault("flash", []).append({"kind": kind, "text": text})


async def form_action(request: Request, work: Callable[[Session], Any], *, done: str, then: str,
                      failed: Optional[str] = None) -> Response:
    """A form's database work: on success flash ``done`` and go to ``then``; on a refused
    action flash why and go to ``failed`` (default ``then``); 403 when the agent may not act."""
    try:
        await in_db(request, work)
    except KefuError as error:
        if error.code == "not_permitted":
            return forbidden()
        flash(request, error_text(error))
        return RedirectResponse(failed or then, status_code=303)
    flash(request, done, "ok")
    return RedirectResponse(then, status_code=303)


def pop_flash(request: Request) -> list:
    return request.session.pop("flash", [])


def agent_info(agent: Agent) -> AgentInfo:
    return AgentInfo(agent.username, agent.display_name)


# --- view models (plain dicts, built while the session is open) -------------------------


def waiting_text(seconds: float) -> str:
    minutes, secs = divmod(int(max(seconds, 0)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}小时{minutes}分"
    return f"{minutes}分{secs:02d}秒" if minutes else f"{secs}秒"


def handoff_row(request: Request, handoff: Handoff, me: Agent, moment: dt.datetime) -> dict:
    summary = handoff.summary or {}
    labels = config(request).labels
    last_customer = next(
        (m["text"] for m in reversed(summary.get("messages", [])) if m.get("role") == "customer"), ""
    )
    mine = handoff.claimed_by_id == me.id
    may_claim = handoff.status == QUEUED and (me.role == "supervisor" or handoff.group_name in me.groups)
    return {
        "id": handoff.id,
        "conversation_id": handoff.conversation_id,
        "status": handoff.status,
        "priority": handoff.priority,
        "group": handoff.group_name,
        "rule_id": handoff.rule_id,
        "reason": handoff.reason,
        "terms": summary.get("terms", []),
        "tier": summary.get("customer_tier") or "",
        "intent": summary.get("intent") or "",
        "intent_label": labels.intents.get(summary.get("intent") or "", summary.get("intent") or ""),
        "slots": [
            (labels.slots.get(name, name), value) for name, value in (summary.get("slots") or {}).items()
        ],
        "ticket_no": summary.get("ticket_no"),
        "last_customer_text": last_customer,
        "messages": summary.get("messages", []),
        "away": handoff.status == QUEUED and handoff.customer_left_at is not None,  # within the grace period
        "waiting_seconds": int((moment - handoff.created_at).total_seconds()),
        "late": moment - handoff.created_at > dt.timedelta(minutes=config(request).web.handoff_wait_alert_minutes),
        "waiting": waiting_text((moment - handoff.created_at).total_seconds()),
        "created_at": handoff.created_at.astimezone(config(request).tz).strftime("%m-%d %H:%M"),
        "claimed_by": handoff.claimed_by.display_name if handoff.claimed_by else None,
        "mine": mine,
        "may_claim": may_claim,
        "may_act": handoff.status == CLAIMED and (mine or me.role == "supervisor"),
        "transfers": [
            {"from": e.from_group, "to": e.to_group, "note": e.note, "actor": e.actor,
             "at": e.at.astimezone(config(request).tz).strftime("%m-%d %H:%M")}
            for e in handoffs.transfers(handoff)
        ],
    }


def actor_text(actor: str) -> str:
    """bot -> 机器人, agent:zhang -> zhang (as stored in ticket events)."""
    return {"bot": "机器人", "customer": "客户", "system": "系统"}.get(actor, actor.split(":", 1)[-1])


def ticket_panel(request: Request, ticket) -> Optional[dict]:
    if ticket is None:
        return None
    tz = config(request).tz
    return {
        **tickets.ticket_summary(ticket, now(request)),
        "description": ticket.description,
        # 已回访 is set by the satisfaction survey, not by hand.
        "next_statuses": [s for s in TRANSITIONS.get(ticket.status, ()) if s != SURVEYED],
        "events": [
            {
                "at": e.at.astimezone(tz).strftime("%m-%d %H:%M"),
                "actor": actor_text(e.actor),
                "kind": e.kind,
                "change": " → ".join(v for v in (e.from_value, e.to_value) if v),
                "note": e.note,
            }
            for e in reversed(ticket.events)
        ],
    }


# --- login -------------------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    return render(request, "login.html", {"next": safe_next(request.query_params.get("next")), "error": None})


@csrf.protect
async def login_submit(request: Request) -> Response:
    form = await request.form()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    target = safe_next(str(form.get("next", "")))
    refused = lockout.refusal(request, username)  # locked account or too many failures from here
    if refused:
        return render(request, "login.html", {"next": target, "error": refused, "username": username}, status_code=429)
    agent = await in_db(request, auth.authenticate, username, password)
    if agent is None:
        lockout.record_failure(request, username)
        context = {"next": target, "error": "用户名或密码错误，或账号已停用。", "username": username}
        return render(request, "login.html", context, status_code=401)
    lockout.record_success(request, username)
    log_in(request, agent)
    return RedirectResponse(target, status_code=303)


@csrf.protect
async def logout(request: Request) -> Response:
    agent_id = request.session.get("agent_id")
    if agent_id:
        await in_db(request, handoffs.sign_off, int(agent_id))
        await in_db(request, auth.revoke_sessions, int(agent_id))  # a copied cookie dies too
    log_out(request)
    return RedirectResponse(str(request.url_for("login")), status_code=303)


# --- queue ---------------------------------------------------------------------------------


async def _queue_view(request: Request) -> Optional[dict]:
    """Queue tables for the ?group= tab: one group, or "mine" (supervisors: all).
    None when the agent asks for a group they do not belong to."""
    me: Agent = request.state.agent
    group = request.query_params.get("group", "mine")
    groups = list(config(request).groups)
    if group in groups:
        if not authz.may_see_queue(me, group):
            return None
        shown: Optional[list] = [group]
    else:
        group = "mine"
        shown = me.groups if me.role == "agent" else None

    def load(session: Session) -> dict:
        moment = now(request)
        waiting = handoffs.live_queue(session, groups=shown, now=moment, config=config(request))
        active = handoffs.list_queue(session, groups=shown, statuses=(CLAIMED,))
        if me.role == "agent":  # agents see their own conversations; supervisors all
            active = [h for h in active if h.claimed_by_id == me.id]
        rows = [handoff_row(request, h, me, moment) for h in waiting]
        longest = max(rows, key=lambda r: r["waiting_seconds"], default=None)
        return {
            "waiting": rows,
            "active": [handoff_row(request, h, me, moment) for h in active],
            "counts": handoffs.queue_counts(session, now=moment, config=config(request)),
            "follow_ups": len(handoffs.follow_ups(session, groups=shown)),
            "longest": longest,
            "online": {g: handoffs.agents_online(session, g, now=moment, config=config(request))
                       for g in (shown if shown is not None else groups)},
        }

    return {"group": group, "groups": groups, **await in_db(request, load)}


@requires(*EVERYONE)
async def queue_page(request: Request) -> Response:
    if request.state.agent.role == "trainer":  # trainers work on the review pages only
        return RedirectResponse(authz.REVIEW_HOME, status_code=303)
    view = await _queue_view(request)
    if view is None:
        return forbidden()
    return render(request, "queue.html", {**view, "flashes": pop_flash(request)})


@requires(*STAFF)
async def queue_rows(request: Request) -> Response:
    """The queue tables only: the page swaps them in every few seconds."""
    view = await _queue_view(request)
    if view is None:
        return forbidden()
    return render(request, "_queue_tables.html", view)


@csrf.protect
@requires(*STAFF, api=True)
async def heartbeat(request: Request) -> Response:
    await in_db(request, lambda s: handoffs.heartbeat(s, request.state.agent, now(request)))
    return JSONResponse({"ok": True})


# --- one conversation ---------------------------------------------------------------------


def _handoff_id(request: Request) -> int:
    return int(request.path_params["handoff_id"])


def _conversation_url(request: Request, handoff_id: int) -> str:
    return str(request.url_for("conversation", handoff_id=handoff_id))


@csrf.protect
@requires(*STAFF, api=True)
async def claim(request: Request) -> Response:
    me: Agent = request.state.agent
    rasa = request.app.state.rasa
    handoff_id = _handoff_id(request)
    notice = config(request).notices.joined.format(agent=me.display_name)

    def work(session: Session) -> None:
        handoff = handoffs.claim(session, handoff_id, me, now=now(request))
        rasa.send_agent(handoff.conversation_id, "joined", agent_info(me), notice)

    try:
        await in_db(request, work)
    except KefuError as error:
        return error_json(error)
    return JSONResponse({"ok": True, "url": _conversation_url(request, handoff_id)})


def find_handoff(session: Session, handoff_id: int):
    """The handoff, or None when the id is unknown (the page answers 404)."""
    try:
        return handoffs.get_handoff(session, handoff_id)
    except KefuError:
        return None


@requires(*STAFF)
async def conversation_page(request: Request) -> Response:
    me: Agent = request.state.agent
    handoff_id = _handoff_id(request)

    def load(session: Session) -> Optional[dict]:
        handoff = find_handoff(session, handoff_id)
        if handoff is None:
            return None
        if not authz.may_see_handoff(me, handoff):
            return {"forbidden": True}
        row = handoff_row(request, handoff, me, now(request))
        return {"handoff": row, "ticket": ticket_panel(request, handoff.ticket)}

    data = await in_db(request, load)
    if data is None:
        return render(request, "message.html", {"text": "找不到该会话。"}, status_code=404)
    if data.get("forbidden"):
        return forbidden()
    cfg = config(request)
    row = data["handoff"]
    context = {
        **data,
        "groups": [g for g in cfg.groups if g != row["group"]],
        "show_reminders": cfg.shows_complaint_reminders(row["group"], row["rule_id"]),
        "flashes": pop_flash(request),
    }
    return render(request, "conversation.html", context)


@requires(*STAFF, api=True)
async def conversation_transcript(request: Request) -> Response:
    """Messages after event index ``after`` (the page polls about once a second)."""
    try:
        after = int(request.query_params.get("after", "-1"))
    except ValueError:
        after = -1
    handoff_id = _handoff_id(request)

    def load(session: Session) -> Optional[dict]:
        handoff = find_handoff(session, handoff_id)
        if handoff is None:
            return None
        if not authz.may_see_handoff(request.state.agent, handoff):
            return {"forbidden": True}
        return {"conversation_id": handoff.conversation_id, "status": handoff.status,
                "claimed_by": handoff.claimed_by.display_name if handoff.claimed_by else None}

    state = await in_db(request, load)
    if state is None:
        return JSONResponse({"error": "not_found"}, status_code=404)
    if state.get("forbidden"):
        return forbidden(api=True)
    try:
        tracker = await run_in_threadpool(request.app.state.rasa.tracker, state["conversation_id"])
    except RasaUnavailable as error:
        return error_json(error)
    events = tracker.get("events") or []
    body = {
        "status": state["status"],
        "claimed_by": state["claimed_by"],
        "paused": bool(tracker.get("paused")),
        "last_index": len(events) - 1,
        "messages": transcript(events, after),
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _check_handling(session: Session, handoff_id: int, me: Agent) -> Handoff:
    handoff = handoffs.get_handoff(session, handoff_id)
    if handoff.status != CLAIMED:
        raise handoffs.HandoffStateError("not claimed", status=handoff.status)
    if handoff.claimed_by_id != me.id and me.role != "supervisor":
        raise handoffs.NotPermitted("someone else handles this conversation")
    return handoff


@csrf.protect
@requires(*STAFF, api=True)
async def reply(request: Request) -> Response:
    me: Agent = request.state.agent
    data = await request.json() if "json" in request.headers.get("content-type", "") else await request.form()
    text = str(data.get("text", "")).strip()
    if not text or len(text) > MAX_REPLY:
        return JSONResponse({"error": "invalid_request", "message": f"消息不能为空，且不超过{MAX_REPLY}字。"}, 400)
    rasa = request.app.state.rasa
    handoff_id = _handoff_id(request)

    def work(session: Session) -> None:
        handoff = _check_handling(session, handoff_id, me)
        rasa.send_agent(handoff.conversation_id, "text", agent_info(me), text)

    try:
        await in_db(request, work)
    except KefuError as error:
        return error_json(error)
    return JSONResponse({"ok": True})


@csrf.protect
@requires(*STAFF)
async def transfer(request: Request) -> Response:
    me: Agent = request.state.agent
    form = await request.form()
    to_group, note = str(form.get("group", "")), str(form.get("note", "")).strip()
    rasa = request.app.state.rasa
    handoff_id = _handoff_id(request)
    notice = config(request).notices.transferred.format(group=to_group)

    def work(session: Session) -> None:
        was_claimed = handoffs.get_handoff(session, handoff_id).status == CLAIMED
        handoff = handoffs.transfer(session, handoff_id, to_group, me, note=note or None, now=now(request))
        if was_claimed:
            rasa.send_agent(handoff.conversation_id, "text", agent_info(me), notice)

    return await form_action(request, work, done=f"已转交{to_group}。", then=str(request.url_for("queue")),
                             failed=_conversation_url(request, handoff_id))


@csrf.protect
@requires(*STAFF)
async def resolve(request: Request) -> Response:
    me: Agent = request.state.agent
    form = await request.form()
    note = str(form.get("note", "")).strip()
    rasa = request.app.state.rasa
    handoff_id = _handoff_id(request)
    notice = config(request).notices.left.format(agent=me.display_name)

    def work(session: Session) -> None:
        handoff = handoffs.resolve(session, handoff_id, me, note=note or None, now=now(request))
        rasa.send_agent(handoff.conversation_id, "left", agent_info(me), notice)
        ticket_no = handoff.ticket.ticket_no if handoff.ticket else handoff.summary.get("ticket_no")
        rasa.hand_back(handoff.conversation_id, ticket_no)

    return await form_action(request, work, done="会话已结束，已交回机器人进行满意度回访。",
                             then=str(request.url_for("queue")), failed=_conversation_url(request, handoff_id))


# --- ticket panel ----------------------------------------------------------------------------


def _back(request: Request, form) -> str:
    return safe_next(str(form.get("back", "")))


@csrf.protect
@requires(*STAFF)
async def ticket_status(request: Request) -> Response:
    me: Agent = request.state.agent
    form = await request.form()
    new_status, note = str(form.get("status", "")), str(form.get("note", "")).strip() or None
    ticket_no = request.path_params["ticket_no"]

    def work(session: Session) -> None:
        ticket = tickets.get_ticket(session, ticket_no)
        if not authz.may_change_ticket(session, me, ticket):
            raise handoffs.NotPermitted("not this agent's ticket")
        tickets.change_status(session, ticket, new_status, actor=f"agent:{me.username}", note=note,
                              now=now(request))

    return await form_action(request, work, done=f"工单状态已更新为{new_status}。", then=_back(request, form))


@csrf.protect
@requires(*STAFF)
async def ticket_note(request: Request) -> Response:
    me: Agent = request.state.agent
    form = await request.form()
    note = str(form.get("note", "")).strip()
    ticket_no = request.path_params["ticket_no"]
    if not note:
        flash(request, "备注不能为空。")
        return RedirectResponse(_back(request, form), status_code=303)

    def work(session: Session) -> None:
        ticket = tickets.get_ticket(session, ticket_no)
        if not authz.may_change_ticket(session, me, ticket):
            raise handoffs.NotPermitted("not this agent's ticket")
        tickets.add_note(session, ticket, note, actor=f"agent:{me.username}", now=now(request))

    return await form_action(request, work, done="备注已添加。", then=_back(request, form))


# --- supervisor --------------------------------------------------------------------------------

OVERDUE_LABELS = {
    "first_response_overdue": "首次响应超时",
    "resolution_overdue": "处理超时",
    "stalled": "长期滞留",
}


@requires("supervisor")
async def supervisor_page(request: Request) -> Response:
    me: Agent = request.state.agent
    cfg = config(request)

    def load(session: Session) -> dict:
        moment = now(request)
        alert = dt.timedelta(minutes=cfg.web.handoff_wait_alert_minutes)
        waiting = [h for h in handoffs.live_queue(session, now=moment, config=cfg) if moment - h.created_at > alert]
        overdue = tickets.overdue_tickets(session, now=moment)
        return {
            "waiting": [handoff_row(request, h, me, moment) for h in waiting],
            "tickets": [
                {
                    **tickets.ticket_summary(t, moment),
                    "reasons": [OVERDUE_LABELS.get(r, r) for r in tickets.overdue_reasons(t, moment)],
                    "idle": waiting_text((moment - t.updated_at).total_seconds()),
                }
                for t in overdue
            ],
            "online": {g: handoffs.agents_online(session, g, now=moment, config=cfg) for g in cfg.groups},
            "low_scores": [
                {"ticket_no": s.ticket.ticket_no, "score": s.score, "comment": s.comment or "",
                 "at": s.created_at.astimezone(cfg.tz).strftime("%m-%d %H:%M")}
                for s in surveys.low_score_surveys(session, now=moment)
            ],
        }

    data = await in_db(request, load)
    usernames = await in_db(request, lambda s: [a.username for a in s.query(Agent).order_by(Agent.username)])
    data["locked"] = lockout.locked(request, usernames)
    return render(request, "supervisor.html", {**data, "alert_minutes": cfg.web.handoff_wait_alert_minutes,
                                               "flashes": pop_flash(request)})


@csrf.protect
@requires("supervisor")
async def unlock_account(request: Request) -> Response:
    """Lift a login lock-out (too many failed attempts) for one account."""
    username = request.path_params["username"]
    lockout.unlock(request, username)
    flash(request, f"已解除账号 {username} 的登录锁定。", "ok")
    return RedirectResponse(str(request.url_for("supervisor")), status_code=303)



# --- follow-up: customers who left the queue, call-back offers nobody booked --------------

OUTCOME_LABELS = {"abandoned": "客户已离开", "expired": "未预约回电"}
EVENT_LABELS = {"queued": "排队", "offered": "提供回电", "left": "客户离开", "returned": "客户返回",
                "abandoned": "放弃排队", "expired": "过期", "claimed": "接入", "transferred": "转交",
                "callback": "回电工单", "cancelled": "取消", "resolved": "结束", "followed_up": "已跟进"}


def follow_up_row(request: Request, handoff: Handoff, me: Agent, moment: dt.datetime) -> dict:
    tz = config(request).tz
    row = handoff_row(request, handoff, me, moment)
    closed_at = handoff.resolved_at or handoff.updated_at
    return {
        **row,
        "outcome": OUTCOME_LABELS.get(handoff.status, handoff.status),
        "closed_at": closed_at.astimezone(tz).strftime("%m-%d %H:%M"),
        "waited": waiting_text((closed_at - handoff.created_at).total_seconds()),
        "stale": moment - closed_at > dt.timedelta(days=config(request).queue.stale_days),
        "history": [
            {"at": e.at.astimezone(tz).strftime("%H:%M:%S"), "kind": EVENT_LABELS.get(e.kind, e.kind),
             "note": e.note or ""}
            for e in handoff.events
        ],
    }


@requires(*STAFF)
async def followups_page(request: Request) -> Response:
    """Abandoned/expired handoffs with their transcript; supervisors close them in bulk."""
    me: Agent = request.state.agent

    def load(session: Session) -> dict:
        moment = now(request)
        shown = me.groups if me.role == "agent" else None
        items = handoffs.follow_ups(session, groups=shown)
        return {"items": [follow_up_row(request, h, me, moment) for h in items],
                "stale_count": len(handoffs.stale_follow_up_ids(session, now=moment, config=config(request)))}

    data = await in_db(request, load)
    return render(request, "followups.html", {**data, "flashes": pop_flash(request),
                                              "stale_days": config(request).queue.stale_days})


@csrf.protect
@requires("supervisor")
async def close_followups(request: Request) -> Response:
    me: Agent = request.state.agent
    form = await request.form()
    scope = str(form.get("scope", "selected"))
    try:
        selected = [int(v) for v in form.getlist("handoff_id")]
    except ValueError:
        selected = []
    note = str(form.get("note", "")).strip() or None

    def work(session: Session) -> list:
        ids = (handoffs.stale_follow_up_ids(session, now=now(request), config=config(request))
               if scope == "stale" else selected)
        return handoffs.close_follow_ups(session, ids, me, note=note, now=now(request))

    try:
        closed = await in_db(request, work)
    except KefuError as error:
        flash(request, error_text(error))
        return RedirectResponse(str(request.url_for("followups")), status_code=303)
    flash(request, f"已关闭 {len(closed)} 条待跟进记录。" if closed else "没有可关闭的记录。", "ok" if closed else "error")
    return RedirectResponse(str(request.url_for("followups")), status_code=303)
