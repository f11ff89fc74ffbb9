"""Who may see and change what on the desk (issue 11, item 7). One home for the rules:

- supervisors: every queue, conversation and ticket;
- agents: the queues and conversations of the groups they belong to (and a conversation
  they claimed, even after it moved on); tickets of their groups or carried by such a
  handoff;
- trainers: only the review pages (desk/review.py: message review, dialogue review and
  its story saving), nothing of the live desk; supervisors may use them too. The review
  router checks ``desk.review.ROLES``; tests/desk/test_authorization_table.py holds the
  route x role table.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kefu.models.desk import Agent, Handoff
from kefu.models.service import Ticket

REVIEW_HOME = "/desk/review/"


def may_see_queue(agent: Agent, group: str) -> bool:
    """A group's queue tab."""
    return agent.role == "supervisor" or (agent.role == "agent" and group in agent.groups)


def may_see_handoff(agent: Agent, handoff: Handoff) -> bool:
    """A conversation page and its transcript."""
    if agent.role == "supervisor":
        return True
    if agent.role != "agent":
        return False
    return handoff.group_name in agent.groups or handoff.claimed_by_id == agent.id


def may_change_ticket(session: Session, agent: Agent, ticket: Ticket) -> bool:
    """Ticket status and notes."""
    if agent.role == "supervisor":
        return True
    if agent.role != "agent":
        return False
    if ticket.group_name and ticket.group_name in agent.groups:
        return True
    carrying = session.execute(
        select(Handoff.id).where(
            Handoff.ticket_id == ticket.id,
            or_(Handoff.group_name.in_(agent.groups), Handoff.claimed_by_id == agent.id),
        ).limit(1)
    ).first()
    return carrying is not None
