import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from kefu.errors import AlreadySurveyed, InvalidRequest, NotResolved
from kefu.models import Survey
from kefu.services import surveys, tickets
from kefu.services.tickets import TicketRequest

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 23, 10, tzinfo=TZ)
HOUR = dt.timedelta(hours=1)


def resolved_ticket(session, phone="13900000041", now=T0):
    ticket = tickets.create_ticket(session, TicketRequest(type="repair", phone=phone, product="净水器"), now=now).ticket
    for step, status in enumerate(("已派单", "处理中", "已解决"), 1):
        tickets.change_status(session, ticket, status, "技师:李国强", now=now + step * HOUR)
    return ticket


def test_survey_moves_resolved_ticket_to_surveyed(session):
    ticket = resolved_ticket(session)
    survey = surveys.record_survey(session, ticket, 4, "师傅很准时", dimensions={"timeliness": 5, "attitude": 4},
                                   now=T0 + 5 * HOUR)
    session.commit()
    assert ticket.status == "已回访" and ticket.survey is survey
    assert (survey.score, survey.comment, survey.dimensions) == (4, "师傅很准时", {"timeliness": 5, "attitude": 4})
    last = ticket.events[-1]
    assert (last.kind, last.from_value, last.to_value, last.note, last.actor) == (
        "survey", "已解决", "已回访", "4分：师傅很准时", "customer")
    tickets.change_status(session, ticket, "已关闭", "agent:zhang", now=T0 + 6 * HOUR)  # flow continues


def test_one_survey_per_ticket(session):
    ticket = resolved_ticket(session)
    surveys.record_survey(session, ticket, 5, now=T0 + 5 * HOUR)
    session.commit()
    with pytest.raises(AlreadySurveyed) as info:
        surveys.record_survey(session, ticket, 1, "改主意了")
    assert info.value.code == "already_surveyed"
    tickets.change_status(session, ticket, "处理中", "agent:zhang", now=T0 + 6 * HOUR)  # reopened ...
    tickets.change_status(session, ticket, "已解决", "agent:zhang", now=T0 + 7 * HOUR)  # ... and solved
    with pytest.raises(AlreadySurveyed):
        surveys.record_survey(session, ticket, 1)
    assert session.execute(select(func.count(Survey.id))).scalar_one() == 1


def test_unresolved_tickets_cannot_be_surveyed(session):
    ticket = tickets.create_ticket(session, TicketRequest(type="repair", phone="13900000042", product="空调"),
                                   now=T0).ticket
    with pytest.raises(NotResolved) as info:
        surveys.record_survey(session, ticket, 5)
    assert info.value.code == "not_resolved" and ticket.status == "受理"


@pytest.mark.parametrize(
    "score, dimensions, field",
    [(0, None, "score"), (6, None, "score"), (3.5, None, "score"), (True, None, "score"), ("5", None, "score"),
     (5, {"speed": 5}, "dimensions"), (5, {"attitude": 9}, "dimensions.attitude")],
)
def test_invalid_scores(session, score, dimensions, field):
    ticket = resolved_ticket(session)
    with pytest.raises(InvalidRequest) as info:
        surveys.record_survey(session, ticket, score, dimensions=dimensions)
    assert info.value.details["field"] == field and ticket.status == "已解决"


def test_pending_survey_for_customer(session):
    older = resolved_ticket(session, now=T0)
    newer = resolved_ticket(session, now=T0 + 24 * HOUR)
    resolved_ticket(session, phone="13900000049")  # someone else's
    customer_id = older.customer_id
    assert surveys.pending_survey_for_customer(session, customer_id) is newer
    surveys.record_survey(session, newer, 5, now=T0 + 30 * HOUR)
    assert surveys.pending_survey_for_customer(session, customer_id) is older
    surveys.record_survey(session, older, 3, now=T0 + 31 * HOUR)
    assert surveys.pending_survey_for_customer(session, customer_id) is None
