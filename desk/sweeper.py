"""The queue sweeper: closes handoffs whose customer left, and call-back offers nobody booked.

Where it runs, and why: inside every desk web process, as a periodic task (every
``queue.sweep_seconds``). The desk already holds what a sweep needs -- the service
database, the Rasa client (an abandoned conversation is unpaused so the bot answers the
customer if they come back) and the configuration -- and it is the one Kefu process that
runs all day and may run as several instances. Rasa and the action server only act on
customer turns, and a customer who left sends none.

Safe with several instances: each item is closed by a conditional UPDATE that repeats the
staleness test (``... WHERE status = 'queued' AND <customer still gone>``), so of two
sweepers one wins and the other changes nothing (no second event); a customer who came
back between the look-up and the update is not closed. Each item is its own transaction
and the Rasa call happens inside it: if Rasa is down, the item stays queued (it already
counts for no position) and the next sweep tries again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Callable, List, Optional

from starlette.concurrency import run_in_threadpool

from kefu import clock as product_clock
from kefu.db import session_scope
from kefu.errors import KefuError
from kefu.escalation.desk_config import DeskConfig
from kefu.models.desk import ABANDONED
from kefu.services import handoffs

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    abandoned: List[int] = field(default_factory=list)
    expired: List[int] = field(default_factory=list)
    failed: List[int] = field(default_factory=list)  # Rasa unreachable: retried next sweep


def sweep_once(db_url: str, rasa, config: DeskConfig, now: Optional[dt.datetime] = None) -> SweepReport:
    now = now or product_clock.now()
    report = SweepReport()
    with session_scope(db_url) as session:
        candidates = handoffs.sweep_candidates(session, now=now, config=config)
    for item in candidates:
        try:
            with session_scope(db_url) as session:
                if item.outcome == ABANDONED:
                    closed = handoffs.abandon(session, item.handoff_id, now=now, config=config)
                    if closed is not None and item.paused:
                        rasa.release(closed.conversation_id)
                    if closed is not None:
                        report.abandoned.append(item.handoff_id)
                else:
                    if handoffs.expire(session, item.handoff_id, now=now, config=config) is not None:
                        report.expired.append(item.handoff_id)
        except KefuError as error:
            log.warning("sweeping handoff %s failed (%s); retrying next sweep", item.handoff_id, error.code)
            report.failed.append(item.handoff_id)
    if report.abandoned or report.expired:
        log.info("queue sweep: %d abandoned, %d expired", len(report.abandoned), len(report.expired))
    return report


async def run_forever(app, clock: Callable[[], dt.datetime] = product_clock.now) -> None:
    """Sweep every ``queue.sweep_seconds`` until cancelled (the app's lifespan)."""
    config: DeskConfig = app.state.config
    while True:
        try:
            await run_in_threadpool(sweep_once, app.state.db_url, app.state.rasa, config, clock())
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup must not end the sweeper
            log.exception("queue sweep failed")
        await asyncio.sleep(config.queue.sweep_seconds)
