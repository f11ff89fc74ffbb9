"""config/desk.yml: agent groups, agent hours, presence and the desk's timings."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Dict, List, Literal, Union
from zoneinfo import ZoneInfo

from pydantic import Field, conint, constr, root_validator, validator

from kefu.services import sla
from kefu.settings import TICKET_TYPES, BusinessHoursConfig, ConfigFile, service_config
from kefu.settings import StrictConfig as _Strict


class GroupConfig(_Strict):
    description: str = ""
    handling_minutes: conint(gt=0)  # type: ignore[valid-type]  # expected minutes per conversation
    callback_ticket_type: str  # ticket type of the call-back offered outside agent hours

    @validator("callback_ticket_type")
    def _known_type(cls, value):
        if value not in TICKET_TYPES:
            raise ValueError(f"unknown ticket type {value!r} (allowed: {', '.join(TICKET_TYPES)})")
        return value


class PresenceConfig(_Strict):
    heartbeat_seconds: conint(gt=0)  # type: ignore[valid-type]
    online_minutes: conint(gt=0)  # type: ignore[valid-type]


class CallbackConfig(_Strict):
    window_minutes: conint(gt=0)  # type: ignore[valid-type]
    lead_minutes: conint(ge=0) = 0  # type: ignore[valid-type]


class WebConfig(_Strict):
    host: constr(min_length=1) = "127.0.0.1"  # type: ignore[valid-type]
    port: conint(gt=0, lt=65536) = 8000  # type: ignore[valid-type]
    session_max_age_minutes: conint(gt=0)  # type: ignore[valid-type]
    queue_refresh_seconds: conint(gt=0)  # type: ignore[valid-type]
    transcript_poll_ms: conint(ge=200)  # type: ignore[valid-type]
    rasa_timeout_seconds: float = Field(5.0, gt=0)
    # Session cookie `Secure` flag: true, false, or "auto" (Secure whenever the request came
    # over HTTPS: the request's scheme, a proxy's X-Forwarded-Proto, or an https KEFU_PUBLIC_WEB_URL).
    secure_cookies: Union[Literal["auto"], bool] = "auto"
    handoff_wait_alert_minutes: conint(gt=0) = 10  # type: ignore[valid-type]  # supervisor view


class NoticesConfig(_Strict):
    joined: constr(min_length=1)  # type: ignore[valid-type]
    left: constr(min_length=1)  # type: ignore[valid-type]
    transferred: constr(min_length=1)  # type: ignore[valid-type]
    # Customer came back to the widget while queued ({ahead}: customers ahead, {wait}: minutes).
    still_queued: constr(min_length=1)  # type: ignore[valid-type]
    still_queued_next: constr(min_length=1)  # type: ignore[valid-type]
    # Customer came back after their place was given up (abandoned).
    place_lost: constr(min_length=1)  # type: ignore[valid-type]


class QueueConfig(_Strict):
    """Queue hygiene: when a waiting customer counts as gone, and how waits are estimated."""

    grace_seconds: conint(gt=0)  # type: ignore[valid-type]  # widget gone this long: left
    inactivity_minutes: conint(gt=0)  # type: ignore[valid-type]  # silent this long after queueing: left
    callback_offer_minutes: conint(gt=0)  # type: ignore[valid-type]  # call-back offered, not booked: expired
    sweep_seconds: float = Field(..., gt=0)  # how often each desk instance sweeps the queue
    handling_sample: conint(gt=0)  # type: ignore[valid-type]  # recent resolved handoffs per group
    handling_min_samples: conint(gt=0)  # type: ignore[valid-type]  # fewer: configured handling_minutes
    handling_window_days: conint(gt=0)  # type: ignore[valid-type]  # only handoffs resolved this recently
    stale_days: conint(gt=0)  # type: ignore[valid-type]  # follow-up items older than this: "stale"

    @root_validator(skip_on_failure=True)
    def _sample_covers_minimum(cls, values):
        if values["handling_min_samples"] > values["handling_sample"]:
            raise ValueError("handling_min_samples must not exceed handling_sample")
        return values


class ComplaintRemindersConfig(_Strict):
    show_for_groups: List[str] = []
    show_for_rules: List[str] = []
    do: List[str] = []
    dont: List[str] = []


class LabelsConfig(_Strict):
    intents: Dict[str, str] = {}
    slots: Dict[str, str] = {}


class DeskConfig(_Strict):
    groups: Dict[str, GroupConfig]
    agent_hours: BusinessHoursConfig
    presence: PresenceConfig
    callback: CallbackConfig
    web: WebConfig
    notices: NoticesConfig
    queue: QueueConfig
    quick_replies: List[constr(min_length=1)] = []  # type: ignore[valid-type]
    complaint_reminders: ComplaintRemindersConfig = ComplaintRemindersConfig()
    labels: LabelsConfig = LabelsConfig()

    @validator("groups")
    def _some_groups(cls, value):
        if not value:
            raise ValueError("at least one agent group is needed")
        return value

    @root_validator(skip_on_failure=True)
    def _reminder_groups_known(cls, values):
        unknown = set(values["complaint_reminders"].show_for_groups) - set(values["groups"])
        if unknown:
            raise ValueError(f"complaint_reminders.show_for_groups: unknown groups {', '.join(sorted(unknown))}")
        return values

    def shows_complaint_reminders(self, group: str, rule_id: str) -> bool:
        reminders = self.complaint_reminders
        return group in reminders.show_for_groups or rule_id in reminders.show_for_rules

    @property
    def tz(self) -> ZoneInfo:
        """The service centre's time zone (config/service.yml ``timezone``: one for the whole product)."""
        return service_config().tz

    def _hours(self) -> SimpleNamespace:
        # kefu.services.sla reads `business_hours` and `tz`: the same logic serves agent hours.
        return SimpleNamespace(business_hours=self.agent_hours, tz=self.tz)

    def within_agent_hours(self, when: dt.datetime) -> bool:
        return sla.is_open(when, self._hours())

    def next_agent_hours_start(self, when: dt.datetime) -> dt.datetime:
        """The next moment agents are at work (``when`` itself if they are now)."""
        return sla.next_opening(when, self._hours())

    def agent_hours_close(self, when: dt.datetime) -> dt.datetime:
        """Closing time of the agent-hours day that ``when`` falls on."""
        local = when.astimezone(self.tz)
        return dt.datetime.combine(local.date(), self.agent_hours.close, tzinfo=self.tz)


desk_config = ConfigFile("desk.yml", DeskConfig)  # config/desk.yml, validated, cached
load_desk_config = desk_config.load