"""config/runtime.yml: process supervision policy and health-check timings."""
from __future__ import annotations

from typing import Dict

from pydantic import confloat, conint

from kefu.settings import StrictConfig as _Strict
from kefu.settings import ConfigFile


class ProgramPolicy(_Strict):
    start_seconds: conint(ge=0)  # type: ignore[valid-type]
    start_retries: conint(ge=0)  # type: ignore[valid-type]
    stop_seconds: conint(gt=0)  # type: ignore[valid-type]


class SupervisionConfig(_Strict):
    programs: Dict[str, ProgramPolicy]

    def policy(self, name: str) -> ProgramPolicy:
        """A program's policy; extra instances (``rasa2``) share their kind's (``rasa``)."""
        return self.programs.get(name) or self.programs[name.rstrip("0123456789")]


class HealthConfig(_Strict):
    timeout_seconds: confloat(gt=0)  # type: ignore[valid-type]
    desk_refresh_seconds: confloat(gt=0)  # type: ignore[valid-type]


class ScaleOutConfig(_Strict):
    port_offset: conint(ge=1, le=1000)  # type: ignore[valid-type]
    fail_timeout_s: conint(ge=1, le=600)  # type: ignore[valid-type]
    max_fails: conint(ge=0, le=100)  # type: ignore[valid-type]
    connect_timeout_s: conint(ge=1, le=60)  # type: ignore[valid-type]
    listen_backlog: conint(ge=100, le=65535)  # type: ignore[valid-type]
    read_timeout_s: conint(ge=10, le=3600)  # type: ignore[valid-type]
    lock_lifetime_s: conint(ge=10, le=3600)  # type: ignore[valid-type]


class RuntimeConfig(_Strict):
    supervision: SupervisionConfig
    health: HealthConfig
    scale_out: ScaleOutConfig


runtime_config = ConfigFile("runtime.yml", RuntimeConfig)  # config/runtime.yml, validated, cached
