"""Guards of the customer-facing channels (kept apart from the channel's protocol code).

- ``client_metadata``: only an allow-list of client metadata keys (config/security.yml)
  reaches Rasa, so a client can never set Rasa's ``is_external`` flag (which marks the
  token-protected trigger_intent API's events) or the channel's own fields;
- ``MessageGuard``: rate limits per conversation, per client IP and for new
  conversations per IP (kefu/security/ratelimit.py). A limited message is not processed:
  the client is told in Chinese and its acknowledgement says ``rate_limited`` with
  ``retry_after``, so the widget keeps the message and sends it again (nothing is lost).
"""
from __future__ import annotations

import json
import logging
from collections import OrderedDict
from typing import Any, Dict, Optional

from kefu.security.config import SecurityConfig, security_config
from kefu.security.ratelimit import RateLimiter, Verdict, default_limiter

logger = logging.getLogger(__name__)


def client_metadata(raw: Any, config: Optional[SecurityConfig] = None) -> Dict[str, Any]:
    """The client's metadata (dict or JSON text) reduced to the allowed keys and sizes."""
    config = config or security_config()
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    if not isinstance(raw, dict):
        return {}
    kept: Dict[str, Any] = {}
    for key in config.client_metadata_keys:
        value = raw.get(key)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            value = str(value)
            if key == "display_text":
                value = value[: config.max_display_text_chars]
            kept[key] = value[:4096]
    dropped = set(raw) - set(kept)
    if dropped:
        logger.info("dropped client metadata keys %s", sorted(map(str, dropped))[:10])
    return kept


def original_text(raw: str, config: Optional[SecurityConfig] = None) -> str:
    """The full text of an over-long message as kept in the metadata, within a bound."""
    config = config or security_config()
    return raw[: config.max_original_text_chars]


class MessageGuard:
    """Per-conversation, per-IP and new-conversation limits for customer messages."""

    def __init__(self, limiter: Optional[RateLimiter] = None, config: Optional[SecurityConfig] = None) -> None:
        self.limiter = limiter or default_limiter()
        self.config = config or security_config()
        self._known: "OrderedDict[str, None]" = OrderedDict()  # conversations seen (bounded)

    def _remember(self, conversation_id: str, keep: int = 50000) -> None:
        self._known[conversation_id] = None
        self._known.move_to_end(conversation_id)
        if len(self._known) > keep:
            self._known.popitem(last=False)

    def check(self, conversation_id: str, ip: Optional[str], is_new: bool) -> Verdict:
        """Count this message against the limits; the first limit it exceeds decides."""
        checks = [("message_per_conversation", conversation_id)]
        if ip:
            checks.append(("message_per_ip", ip))
            if is_new and conversation_id not in self._known:
                checks.append(("new_conversation_per_ip", ip))
        for name, key in checks:
            verdict = self.limiter.hit(name, key)
            if not verdict.allowed:
                logger.warning("rate limit %s reached for %s", name, key)
                return verdict
        self._remember(conversation_id)
        return Verdict(True)

    def known(self, conversation_id: str) -> bool:
        return conversation_id in self._known

    @property
    def limited_text(self) -> str:
        return self.config.messages.rate_limited


def request_ip(request: Any) -> Optional[str]:
    """The client address of a Sanic request (the proxy's, unless Sanic trusts forwarded headers)."""
    if request is None:
        return None
    return getattr(request, "remote_addr", None) or getattr(request, "ip", None) or None
