"""Each action test counts rate limits from zero (the limiter is per process; tests reuse
conversation ids like conv-1); ``service_db`` points the actions at a clean service DB."""
import pytest

from kefu.security import ratelimit


@pytest.fixture(autouse=True)
def fresh_rate_limits(monkeypatch):
    monkeypatch.setattr(ratelimit, "_default", None)


@pytest.fixture
def service_db(clean_db, monkeypatch):
    monkeypatch.setenv("KEFU_DATABASE_URL", clean_db)
    return clean_db
