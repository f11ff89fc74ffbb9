"""Due times: first response and resolution per priority, shifted into business hours."""

from __future__ import annotations

import datetime as dt
from typing import Optional, Tuple

from kefu.settings import ServiceConfig


def is_open(moment: dt.datetime, config: ServiceConfig) -> bool:
    """Whether the service centre is open at ``moment`` (aware datetime)."""
    hours = config.business_hours
    local = moment.astimezone(config.tz)
    return (
        _open_day(local.date(), config)
        and hours.open <= local.time().replace(tzinfo=None) <= hours.close
    )


def _open_day(day: dt.date, config: ServiceConfig) -> bool:
    hours = config.business_hours
    return day.isoweekday() in hours.weekdays and day not in hours.closed_dates


def next_opening(moment: dt.datetime, config: ServiceConfig) -> dt.datetime:
    """``moment`` itself if the centre is open then, else the next opening time (UTC)."""
    if is_open(moment, config):
        return moment
    local = moment.astimezone(config.tz)
    day = local.date()
    if local.time().replace(tzinfo=None) > config.business_hours.open or not _open_day(day, config):
        day += dt.timedelta(days=1)
    for _ in range(366):  # validated config has at least one weekday open
        if _open_day(day, config):
            opening = dt.datetime.combine(day, config.business_hours.open, tzinfo=config.tz)
            return opening.astimezone(dt.timezone.utc)
        day += dt.timedelta(days=1)
    raise ValueError("business_hours: no opening day within a year (closed_dates?)")


def due_times(
    priority: str,
    created_at: dt.datetime,
    config: ServiceConfig,
    appointment_end: Optional[dt.datetime] = None,
    appointment_start: Optional[dt.datetime] = None,
) -> Tuple[dt.datetime, dt.datetime]:
    """(first_response_due, resolution_due) for a ticket created at ``created_at``.

    A customer-chosen appointment later than the resolution target moves the
    target to the end of the appointment: waiting for the customer is no breach.
    A visit that starts before the first-response target brings that target forward
    (``confirm_visit_minutes_before`` ahead of the visit, never before creation).
    """
    sla = config.sla[priority]
    first = created_at + dt.timedelta(minutes=sla.first_response_minutes)
    resolution = created_at + dt.timedelta(hours=sla.resolution_hours)
    if sla.business_hours:
        first, resolution = next_opening(first, config), next_opening(resolution, config)
    if appointment_end is not None and appointment_end > resolution:
        resolution = appointment_end
    if appointment_start is not None:
        confirm_by = appointment_start - dt.timedelta(minutes=config.confirm_visit_minutes_before)
        if confirm_by < first:
            first = max(confirm_by, created_at)
    return first.astimezone(dt.timezone.utc), resolution.astimezone(dt.timezone.utc)
