"""config/security.yml: bind addresses, allowed site origins, metadata allow-list, rate limits."""

from __future__ import annotations

import os
from typing import Dict, List, Mapping, Optional

from limits import parse
from pydantic import conint, constr, validator

from kefu.settings import ConfigFile
from kefu.settings import StrictConfig as _Strict


class BindConfig(_Strict):
    rasa_host: constr(min_length=1) = "127.0.0.1"  # type: ignore[valid-type]
    actions_host: constr(min_length=1) = "127.0.0.1"  # type: ignore[valid-type]


LIMIT_NAMES = ("message_per_conversation", "message_per_ip", "new_conversation_per_ip", "handoff_per_ip",
               "desk_login_per_account", "desk_login_per_ip", "history_per_ip", "lookup_per_conversation",
               "lookup_per_ip")


class RateLimits(_Strict):
    message_per_conversation: str
    message_per_ip: str
    new_conversation_per_ip: str
    handoff_per_ip: str
    desk_login_per_account: str
    desk_login_per_ip: str
    history_per_ip: str
    lookup_per_conversation: str
    lookup_per_ip: str

    @validator("*")
    def _parsable(cls, value: str) -> str:
        parse(value)  # ValueError names the bad notation
        return value


class Messages(_Strict):
    rate_limited: constr(min_length=1)  # type: ignore[valid-type]
    handoff_rate_limited: constr(min_length=1)  # type: ignore[valid-type]
    login_locked: constr(min_length=1)  # type: ignore[valid-type]
    login_rate_limited: constr(min_length=1)  # type: ignore[valid-type]
    lookup_limited: constr(min_length=1)  # type: ignore[valid-type]


class RestChannelConfig(_Strict):
    enabled: bool = True  # authenticated with KEFU_REST_TOKEN whenever on (channels/rest.py)


class SecurityConfig(_Strict):
    rest_channel: RestChannelConfig = RestChannelConfig()
    bind: BindConfig = BindConfig()
    site_origins: List[str] = []
    client_metadata_keys: List[str]
    max_display_text_chars: conint(gt=0) = 500  # type: ignore[valid-type]
    max_original_text_chars: conint(gt=0) = 5000  # type: ignore[valid-type]
    rate_limits: RateLimits
    messages: Messages

    @validator("site_origins", each_item=True)
    def _origin(cls, value: str) -> str:
        if value == "*" or "://" not in value or value.endswith("/"):
            raise ValueError(f"an origin is scheme://host[:port] without a path, not {value!r}")
        return value

    @validator("client_metadata_keys", each_item=True)
    def _not_rasa_flag(cls, value: str) -> str:
        if value in ("is_external", "original_text", "client_ip"):
            raise ValueError(f"{value} is set by Rasa or the channel, never by the client")
        return value

    def rasa_host(self) -> str:
        return os.environ.get("KEFU_RASA_HOST") or self.bind.rasa_host

    def actions_host(self) -> str:
        return os.environ.get("KEFU_ACTIONS_HOST") or self.bind.actions_host

    def origins(self, env: Optional[Dict[str, str]] = None) -> List[str]:
        """Allowed browser origins: KEFU_SITE_ORIGINS or site_origins, plus the web app's own."""
        environ: Mapping[str, str] = os.environ if env is None else env
        listed = environ.get("KEFU_SITE_ORIGINS")
        origins = [o.strip().rstrip("/") for o in listed.split(",")] if listed else list(self.site_origins)
        own = (environ.get("KEFU_PUBLIC_WEB_URL") or "").rstrip("/")
        if own:
            origins.append(own)
        return [o for o in dict.fromkeys(origins) if o and o != "*"]


security_config = ConfigFile("security.yml", SecurityConfig)  # config/security.yml, validated, cached
load_security_config = security_config.load