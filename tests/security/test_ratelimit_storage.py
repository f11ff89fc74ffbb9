"""The rate limiter over Redis: counts for real, and fails open while Redis is down."""
from __future__ import annotations

import socket
import uuid

from kefu.security.ratelimit import RateLimiter


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_limits_count_in_redis():
    limiter = RateLimiter(storage_uri="redis://127.0.0.1:6379/0", prefix="kefu-test-" + uuid.uuid4().hex)
    verdicts = [limiter.hit("message_per_conversation", "c1").allowed for _ in range(200)]
    assert verdicts[0] and not all(verdicts)  # the configured limit is reached within 200 messages


def test_a_customer_is_not_refused_because_redis_is_down():
    limiter = RateLimiter(storage_uri=f"redis://127.0.0.1:{closed_port()}/0", prefix="kefu-test")
    assert limiter.hit("message_per_conversation", "c1").allowed
    assert limiter.allowed("message_per_conversation", "c1")
