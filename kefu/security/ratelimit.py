"""Rate limits with the `limits` library (moving windows).

Counters live in memory (one process) by default and in Redis when KEFU_REDIS_URL is
set, so several Rasa/desk instances share them. The limits themselves are configuration
(config/security.yml, ``rate_limits``). Keys: ``<prefix>/<limit name>/<identifier>``;
KEFU_RATELIMIT_PREFIX (default ``kefu``) keeps test runs apart on a shared Redis.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import Dict, Optional

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from kefu import clock
from kefu.security.config import LIMIT_NAMES, SecurityConfig, security_config

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds until the window allows another hit


class RateLimiter:
    """Named limits from config/security.yml over one storage (memory or Redis)."""

    def __init__(self, config: Optional[SecurityConfig] = None, storage_uri: Optional[str] = None,
                 prefix: Optional[str] = None) -> None:
        config = config or security_config()
        uri = storage_uri or os.environ.get("KEFU_REDIS_URL") or "memory://"
        self.storage_uri = uri
        self.storage = storage_from_string(uri)
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.prefix = prefix or os.environ.get("KEFU_RATELIMIT_PREFIX") or "kefu"
        self.items: Dict[str, RateLimitItem] = {name: parse(getattr(config.rate_limits, name)) for name in LIMIT_NAMES}

    def _ids(self, name: str, key: str) -> tuple[str, str, str]:
        return (self.prefix, name, str(key))

    def hit(self, name: str, key: str) -> Verdict:
        """Count one event; not allowed once the window is full (the event is not counted then).

        If the storage (Redis) is down, the event is allowed: a customer is never left
        without an answer because the limiter cannot count (fail open, logged)."""
        item = self.items[name]
        try:
            if self.strategy.hit(item, *self._ids(name, key)):
                return Verdict(True)
            return Verdict(False, self.retry_after(name, key))
        except Exception as error:  # redis-py and limits raise their own connection errors
            logger.warning("rate limit %s not checked (storage unavailable: %s)", name, error)
            return Verdict(True)

    def allowed(self, name: str, key: str) -> bool:
        """Would one more event pass? (counts nothing; True while the storage is down)"""
        try:
            return self.strategy.test(self.items[name], *self._ids(name, key))
        except Exception as error:
            logger.warning("rate limit %s not checked (storage unavailable: %s)", name, error)
            return True

    def retry_after(self, name: str, key: str) -> int:
        reset, _remaining = self.strategy.get_window_stats(self.items[name], *self._ids(name, key))
        # `limits` keeps its windows on the wall clock, so the wait is measured on it too
        # (kefu.clock.wall_now: the one sanctioned wall-clock read outside the clock).
        return max(1, math.ceil(reset - clock.wall_now().timestamp()))

    def clear(self, name: str, key: str) -> None:
        self.strategy.clear(self.items[name], *self._ids(name, key))


_default: Optional[RateLimiter] = None


def default_limiter() -> RateLimiter:
    """One limiter per process (its memory storage is this process's counters)."""
    global _default
    if _default is None:
        _default = RateLimiter()
    return _default
