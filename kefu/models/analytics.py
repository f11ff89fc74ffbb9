"""Per-day rollups of Rasa's tracker for the analytics dashboard (kefu/analytics/rollup.py).

The tracker table ``events`` holds ~10 events per conversation (~1M rows a year); the
bot panels read these small per-day tables for complete past days instead, and the raw
events only for the day(s) not rolled up yet. A day is rolled up once, when it is over
(``analytics_rollup_days`` marks it), by the first dashboard render that needs it, or by
``./kefu.sh seed --history``. Days are local dates (config/service.yml timezone).
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, Integer, String

from kefu.models.base import Base, UTCDateTime


class RollupDay(Base):
    """A local day whose tracker figures are in the tables below."""

    __tablename__ = "analytics_rollup_days"

    day = Column(Date, primary_key=True)
    built_at = Column(UTCDateTime(), nullable=False)


class ConversationDay(Base):
    """One conversation's customer messages on one day.

    ``previous_day``: the latest earlier day on which the same conversation has a row (NULL:
    none). The conversations of days [first, last] are then counted without DISTINCT: the
    rows in range whose previous_day is NULL or before ``first`` (one per conversation).
    """

    __tablename__ = "analytics_conversation_days"
    __table_args__ = (Index("ix_analytics_conversation_days_sender_id", "sender_id"),)

    day = Column(Date, primary_key=True)
    sender_id = Column(String(255), primary_key=True)
    messages = Column(Integer, nullable=False)
    fallbacks = Column(Integer, nullable=False)
    previous_day = Column(Date, nullable=True)


class IntentDay(Base):
    """Customer messages per intent and confidence decile (0-9; -1: no confidence recorded)."""

    __tablename__ = "analytics_intent_days"

    day = Column(Date, primary_key=True)
    intent_name = Column(String(255), primary_key=True)  # "" when the message had none
    confidence_bucket = Column(Integer, primary_key=True)
    messages = Column(Integer, nullable=False)


class FallbackTextDay(Base):
    """Texts of the customer messages classified nlu_fallback (stripped, first 200 characters)."""

    __tablename__ = "analytics_fallback_text_days"

    day = Column(Date, primary_key=True)
    text = Column(String(200), primary_key=True)
    messages = Column(Integer, nullable=False)


class FormDay(Base):
    """Forms started (active_loop with a name) and abandoned (action_deactivate_loop) per question."""

    __tablename__ = "analytics_form_days"

    day = Column(Date, primary_key=True)
    form = Column(String(255), primary_key=True)
    question = Column(String(255), primary_key=True)  # "" for the starts row and for "not asked yet"
    kind = Column(String(16), primary_key=True)  # "started" | "abandoned"
    count = Column(Integer, nullable=False)
