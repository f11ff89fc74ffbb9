"""Reliability settings for Rasa <-> action server calls (config/reliability.yml).

No Rasa here: the retry decision is plain data (which action, which kind of failure,
how many attempts so far, how long); channels/action_calls.py applies it inside Rasa and
kefu/runtime/action_server.py applies the server side.
"""
from __future__ import annotations

import fnmatch
from typing import List, Optional

from pydantic import confloat, conint, constr, root_validator, validator

from kefu import settings
from kefu.settings import _Strict

UNSENT = "unsent"  # the connection was never established: the server cannot have run the action
UNCERTAIN = "uncertain"  # the request may have reached the server (reset, disconnect, 502/503/504)


class ActionServerConfig(_Strict):
    keep_alive_timeout_s: conint(ge=1, le=3600)  # type: ignore[valid-type]
    request_timeout_s: conint(ge=1, le=3600)  # type: ignore[valid-type]


class ActionCallsConfig(_Strict):
    max_attempts: conint(ge=1, le=20)  # type: ignore[valid-type]
    budget_s: confloat(gt=0, le=300)  # type: ignore[valid-type]
    backoff_s: List[confloat(ge=0, le=60)]  # type: ignore[valid-type]
    safe_actions: List[constr(min_length=1)]  # type: ignore[valid-type]
    retry_statuses: List[conint(ge=500, le=599)] = []  # type: ignore[valid-type]
    selective_domain: bool = False  # only validate_* actions receive the domain (Rasa's enable_selective_domain)

    @validator("backoff_s")
    def _not_empty(cls, value):
        if not value:
            raise ValueError("needs at least one delay")
        return value

    def is_safe(self, action_name: str) -> bool:
        return any(fnmatch.fnmatchcase(action_name, pattern) for pattern in self.safe_actions)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        return self.backoff_s[min(attempt, len(self.backoff_s)) - 1]

    def should_retry(self, action_name: str, failure: Optional[str], attempts_made: int, elapsed_s: float) -> bool:
        """May the call be made again after ``attempts_made`` failed attempts?"""
        if failure not in (UNSENT, UNCERTAIN):
            return False
        if failure == UNCERTAIN and not self.is_safe(action_name):
            return False
        if attempts_made >= self.max_attempts:
            return False
        return elapsed_s + self.delay(attempts_made) <= self.budget_s


class ActionPoolConfig(_Strict):
    """Rasa's HTTP connections to the action server (channels/action_pool.py, issue 13)."""

    keep_alive: bool
    max_connections: conint(ge=1, le=1000)  # type: ignore[valid-type]
    idle_timeout_s: confloat(gt=0, le=3600)  # type: ignore[valid-type]


class SocketIOConfig(_Strict):
    ping_interval_s: confloat(ge=1, le=600)  # type: ignore[valid-type]
    ping_timeout_s: confloat(ge=1, le=600)  # type: ignore[valid-type]

    @property
    def silent_client_gone_after_s(self) -> float:
        """The longest a silent (half-open) client stays connected for the server."""
        return self.ping_interval_s + self.ping_timeout_s


class InferenceConfig(_Strict):
    off_event_loop: bool
    threads: conint(ge=1, le=8) = 1  # type: ignore[valid-type]
    load_for_inference: bool = False  # channels/model_load.py: no one-example training run on load
    policy_shortcut: bool = False  # channels/policy_shortcut.py: TED only when its prediction could win
    selector_shortcut: bool = False  # channels/selector_shortcut.py: the ResponseSelector only when its topic can be used


class TrackerStoreConfig(_Strict):
    off_event_loop: bool
    threads: conint(ge=1, le=32) = 4  # type: ignore[valid-type]


class ScaleOutConfig(_Strict):
    socketio_channel: constr(min_length=1)  # type: ignore[valid-type]
    ledger_prefix: constr(min_length=1)  # type: ignore[valid-type]
    ledger_ttl_s: conint(ge=60, le=30 * 86400)  # type: ignore[valid-type]
    redis_timeout_s: confloat(gt=0, le=30)  # type: ignore[valid-type]


class ReliabilityConfig(_Strict):
    action_server: ActionServerConfig
    action_calls: ActionCallsConfig
    action_pool: ActionPoolConfig
    socketio: SocketIOConfig
    inference: InferenceConfig
    tracker_store: TrackerStoreConfig
    scale_out: ScaleOutConfig
    turn_failed_reply: constr(min_length=1)  # type: ignore[valid-type]
    silent_reply: constr(min_length=1)  # type: ignore[valid-type]

    @root_validator(skip_on_failure=True)
    def _rasa_drops_idle_connections_first(cls, values):
        # A pooled connection must be dropped by Rasa before the action server closes it as
        # idle: otherwise Rasa could write a request on a connection the server is closing.
        pool, server = values["action_pool"], values["action_server"]
        if pool.keep_alive and pool.idle_timeout_s >= server.keep_alive_timeout_s:
            raise ValueError("action_pool.idle_timeout_s must be shorter than action_server.keep_alive_timeout_s")
        return values


reliability_config = settings.ConfigFile("reliability.yml", ReliabilityConfig)  # config/reliability.yml, validated, cached
load_reliability_config = reliability_config.load