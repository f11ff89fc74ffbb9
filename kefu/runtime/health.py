"""Health of each part of Kefu, for GET /healthz/full, `./kefu.sh status` and the desk banner.

One check per part, each bounded by config/runtime.yml `health.timeout_seconds`:
Rasa (every instance: up *and* a model loaded), action server, desk (when asked from
outside the desk), service DB, tracker store, Redis lock store (when KEFU_REDIS_URL is set).
A load balancer or Kubernetes probe reads the HTTP status: 200 when every part is up, 503 otherwise.
"""
from __future__ import annotations

import asyncio
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional

import httpx
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from kefu import settings
from kefu.rasa_http import RasaClient
from kefu.runtime.config import runtime_config

# What the desk banner calls each part (agents read it; Simplified Chinese).
LABELS = {
    "rasa": "智能助手（Rasa）",
    "actions": "业务动作服务",
    "desk": "坐席工作台",
    "service_db": "业务数据库",
    "tracker_store": "会话记录库",
    "redis": "Redis 锁服务",
}


@dataclass
class PartHealth:
    up: bool
    detail: str
    ms: int = 0


@dataclass
class Targets:
    """Where each part lives (default: this process's environment, as `./kefu.sh run` sets it)."""

    rasa_urls: List[str]
    rasa_token: str
    action_url: str
    database_url: str
    tracker_url: str
    redis_url: Optional[str] = None
    desk_url: Optional[str] = None  # only checked from outside the desk

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None, *, desk_url: Optional[str] = None) -> "Targets":
        env = os.environ if env is None else env
        urls = env.get("KEFU_RASA_URLS") or settings.rasa_url(env)
        database_url = env.get("KEFU_DATABASE_URL") or settings.database_url()
        var = Path(env.get("KEFU_VAR_DIR") or settings.var_dir())
        actions_port = env.get("KEFU_ACTIONS_PORT", "5055")
        return cls(
            rasa_urls=[u.strip().rstrip("/") for u in urls.split(",") if u.strip()],
            rasa_token=env.get("KEFU_RASA_TOKEN") or settings.get_secret("KEFU_RASA_TOKEN"),
            action_url=env.get("KEFU_ACTION_URL") or f"http://127.0.0.1:{actions_port}/webhook",
            database_url=database_url,
            tracker_url=tracker_store_url(database_url, var),
            redis_url=env.get("KEFU_REDIS_URL") or None,
            desk_url=desk_url,
        )


def tracker_store_url(database_url: str, var_dir: Path) -> str:
    """The SQLAlchemy URL of Rasa's tracker store (same rule as kefu/runtime/endpoints.py)."""
    if make_url(database_url).get_backend_name() == "sqlite":
        return f"sqlite:///{var_dir / 'tracker.db'}"
    return database_url  # Rasa's tables live in the service database's server and database


def _timed(check: Callable[[], str]) -> PartHealth:
    started = time.perf_counter()
    try:
        detail = check()
        up = True
    except Exception as error:  # any failure means "down", with the reason
        detail, up = f"{type(error).__name__}: {error}".strip()[:300], False
    return PartHealth(up=up, detail=detail, ms=int((time.perf_counter() - started) * 1000))


def check_rasa(url: str, token: str, timeout: float) -> str:
    client = RasaClient(base_url=url, token=token, timeout=timeout)
    try:
        model = client.status().get("model_file")
    finally:
        client.close()
    if not model:
        raise RuntimeError("no model loaded")
    return f"model {model}"


def check_http(url: str, timeout: float) -> str:
    r = httpx.get(url, timeout=timeout)
    r.raise_for_status()
    return f"HTTP {r.status_code}"


def check_sql(url: str, timeout: float, table: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if not Path(path).is_file():
            raise RuntimeError(f"{path} does not exist")
        engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true", connect_args={"timeout": timeout})
    else:
        engine = create_engine(url, connect_args={"connect_timeout": max(1, int(timeout))}, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            if not inspect(conn).has_table(table):
                raise RuntimeError(f"table {table} missing")
    finally:
        engine.dispose()
    return f"{parsed.get_backend_name()} {parsed.database}"


def check_redis(url: str, timeout: float) -> str:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()
    return "PONG"


def _checks(targets: Targets, timeout: float) -> Dict[str, Callable[[], str]]:
    checks: Dict[str, Callable[[], str]] = {}
    for i, url in enumerate(targets.rasa_urls):
        checks["rasa" if i == 0 else f"rasa{i + 1}"] = lambda url=url: check_rasa(url, targets.rasa_token, timeout)
    action_base = targets.action_url.rsplit("/webhook", 1)[0]
    checks["actions"] = lambda: check_http(f"{action_base}/health", timeout)
    if targets.desk_url:
        checks["desk"] = lambda: check_http(f"{targets.desk_url}/healthz", timeout)
    checks["service_db"] = lambda: check_sql(targets.database_url, timeout, "tickets")
    checks["tracker_store"] = lambda: check_sql(targets.tracker_url, timeout, "events")
    if targets.redis_url:
        checks["redis"] = lambda: check_redis(targets.redis_url, timeout)
    return checks


async def check_all(targets: Targets, timeout: Optional[float] = None) -> Dict[str, PartHealth]:
    """Every part checked concurrently (each in a worker thread, each bounded by ``timeout``)."""
    timeout = timeout or runtime_config().health.timeout_seconds
    checks = _checks(targets, timeout)
    results = await asyncio.gather(*(asyncio.to_thread(_timed, check) for check in checks.values()))
    return dict(zip(checks, results))


def report(parts: Dict[str, PartHealth], **extra: PartHealth) -> Dict:
    """The JSON body of /healthz/full: ``status`` ok/degraded and each part."""
    parts = {**extra, **parts}
    return {
        "status": "ok" if all(p.up for p in parts.values()) else "degraded",
        "parts": {name: asdict(p) for name, p in parts.items()},
    }


def label(part: str) -> str:
    base = part.rstrip("0123456789")
    return LABELS.get(base, part) + (f" #{part[len(base):]}" if part != base else "")
