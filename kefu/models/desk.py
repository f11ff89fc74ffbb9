"""Agent desk data: agents (desk users), their groups, handoffs and handoff history."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
    text,
)
from sqlalchemy.orm import Mapped, relationship

from kefu import clock
from kefu.models.base import Base, JSONType, UTCDateTime
from kefu.models.service import _in  # also registers Customer and Ticket, referenced below
from kefu.settings import PRIORITIES

ROLES = ("agent", "supervisor", "trainer")

QUEUED, CLAIMED, RESOLVED, CANCELLED, CALLBACK = "queued", "claimed", "resolved", "cancelled", "callback"
OFFERED, ABANDONED, EXPIRED = "offered", "abandoned", "expired"
# queued:    waiting in the live queue for an agent of its group
# claimed:   an agent is in the conversation
# resolved:  the agent handed the conversation back to the bot
# offered:   nobody could take it (outside agent hours, nobody online): a call-back was
#            offered and the customer has not booked it yet; never in the live queue
# callback:  converted to a call-back ticket (handoffs.ticket_id)
# abandoned: the customer left before anyone took it (widget gone past the grace
#            period, or silent for queue.inactivity_minutes)
# expired:   a call-back offer nobody booked
# cancelled: closed by the bot (e.g. a ticket with its own SLA carries the follow-up)
HANDOFF_STATUSES = (QUEUED, CLAIMED, RESOLVED, CANCELLED, CALLBACK, OFFERED, ABANDONED, EXPIRED)
ACTIVE_HANDOFF_STATUSES = (QUEUED, CLAIMED)  # a person is (about to be) in the conversation
OPEN_HANDOFF_STATUSES = (QUEUED, CLAIMED, OFFERED)  # at most one per conversation
FOLLOW_UP_STATUSES = (ABANDONED, EXPIRED)  # listed on the desk until a supervisor closes them
HANDOFF_EVENT_KINDS = (
    "queued", "claimed", "transferred", "resolved", "cancelled", "callback",
    "offered", "abandoned", "expired",
    "left", "returned",  # the customer's widget disconnected / came back (presence, not state)
    "followed_up",  # a supervisor closed a follow-up item (abandoned/expired)
)


class Agent(Base):
    """A desk user. Trainers review conversations; only agents and supervisors take handoffs."""

    __tablename__ = "agents"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    username: Mapped[str] = Column(String(32), nullable=False, unique=True)
    display_name: Mapped[str] = Column(String(50), nullable=False)
    password_hash: Mapped[str] = Column(String(255), nullable=False)  # argon2id
    role: Mapped[str] = Column(String(16), nullable=False, default="agent")
    active: Mapped[bool] = Column(Boolean, nullable=False, default=True)
    last_seen_at: Mapped[Optional[dt.datetime]] = Column(UTCDateTime)  # desk heartbeat
    # Desk sessions carry the version they were issued with; logout and password changes
    # increment it, which revokes every older session cookie (desk/web.py).
    session_version: Mapped[int] = Column(Integer, nullable=False, default=0, server_default=text("0"))
    created_at: Mapped[dt.datetime] = Column(UTCDateTime, nullable=False, default=clock.now)

    group_rows: Mapped[List["AgentGroup"]] = relationship(
        "AgentGroup", cascade="all, delete-orphan", order_by="AgentGroup.group_name", lazy="selectin"
    )

    @property
    def groups(self) -> List[str]:
        return [row.group_name for row in self.group_rows]

    def __repr__(self) -> str:
        return f"Agent({self.username!r}, {self.role})"


class AgentGroup(Base):
    __tablename__ = "agent_groups"

    agent_id: Mapped[int] = Column(Integer, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    group_name: Mapped[str] = Column(String(32), primary_key=True, index=True)


class Handoff(Base):
    """One hand-over of a conversation to a person, from queueing to hand-back."""

    __tablename__ = "handoffs"
    __table_args__ = (
        CheckConstraint(_in("status", HANDOFF_STATUSES), name="status"),
        CheckConstraint(_in("priority", PRIORITIES), name="priority"),
        Index("ix_handoffs_status_group_created", "status", "group_name", "created_at"),
        Index("ix_handoffs_created_at", "created_at"),  # analytics (0005)
        # At most one open handoff per conversation, even when two turns escalate at once.
        Index(
            "uq_handoffs_open_conversation",
            "conversation_id",
            unique=True,
            postgresql_where=text(_in("status", OPEN_HANDOFF_STATUSES)),
            sqlite_where=text(_in("status", OPEN_HANDOFF_STATUSES)),
        ),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    conversation_id: Mapped[str] = Column(String(128), nullable=False, index=True)
    rule_id: Mapped[str] = Column(String(64), nullable=False)
    reason: Mapped[str] = Column(Text, nullable=False)
    group_name: Mapped[str] = Column(String(32), nullable=False)
    priority: Mapped[str] = Column(String(4), nullable=False)
    status: Mapped[str] = Column(String(12), nullable=False, default=QUEUED)
    # intent, slots, ticket_no, rule_id, reason, terms, customer_tier, messages (last 20)
    summary: Mapped[Dict[str, Any]] = Column(JSONType, nullable=False, default=dict)
    customer_id: Mapped[Optional[int]] = Column(Integer, ForeignKey("customers.id", ondelete="SET NULL"))
    ticket_id: Mapped[Optional[int]] = Column(Integer, ForeignKey("tickets.id", ondelete="SET NULL"))
    claimed_by_id: Mapped[Optional[int]] = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = Column(UTCDateTime, nullable=False, default=clock.now)
    claimed_at: Mapped[Optional[dt.datetime]] = Column(UTCDateTime)
    resolved_at: Mapped[Optional[dt.datetime]] = Column(UTCDateTime)  # closed in any way (no longer open)
    updated_at: Mapped[dt.datetime] = Column(UTCDateTime, nullable=False, default=clock.now)
    # Customer presence while waiting (kept by the socket.io channel, read by the sweeper):
    # last sign of life (connect or message), and when the widget went away (None: here).
    customer_seen_at: Mapped[Optional[dt.datetime]] = Column(UTCDateTime)
    customer_left_at: Mapped[Optional[dt.datetime]] = Column(UTCDateTime)
    # A supervisor closed the abandoned/expired item after following it up.
    followed_up_at: Mapped[Optional[dt.datetime]] = Column(UTCDateTime)

    claimed_by: Mapped[Optional[Agent]] = relationship(Agent)
    customer = relationship("Customer")
    ticket = relationship("Ticket")
    events: Mapped[List["HandoffEvent"]] = relationship(
        "HandoffEvent", back_populates="handoff", order_by="HandoffEvent.id"
    )

    def __repr__(self) -> str:
        return f"Handoff({self.id}, {self.conversation_id!r}, {self.group_name}, {self.status})"


class HandoffEvent(Base):
    """Append-only history of a handoff: queued, claimed, transferred (from/to group), ..."""

    __tablename__ = "handoff_events"
    __table_args__ = (CheckConstraint(_in("kind", HANDOFF_EVENT_KINDS), name="kind"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    handoff_id: Mapped[int] = Column(
        Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    at: Mapped[dt.datetime] = Column(UTCDateTime, nullable=False, default=clock.now)
    actor: Mapped[str] = Column(String(64), nullable=False)  # bot / agent:zhang
    kind: Mapped[str] = Column(String(16), nullable=False)
    from_group: Mapped[Optional[str]] = Column(String(32))
    to_group: Mapped[Optional[str]] = Column(String(32))
    note: Mapped[Optional[str]] = Column(Text)

    handoff: Mapped[Handoff] = relationship(Handoff, back_populates="events")


@event.listens_for(HandoffEvent, "before_update")
@event.listens_for(HandoffEvent, "before_delete")
def _events_are_append_only(mapper, connection, target) -> None:
    raise RuntimeError("handoff events are append-only")
