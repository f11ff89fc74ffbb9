"""Each action test counts rate limits from zero (the limiter is per process; tests reuse
conversation ids like conv-1)."""
import pytest

from kefu.security import ratelimit


@pytest.fixture(autouse=True)
def fresh_rate_limits(monkeypatch):
    monkeypatch.setattr(ratelimit, "_default", None)
