"""Several instances of each Kefu server behind nginx on one machine (`./kefu.sh run --scale N`).

nginx listens where a single-instance stack listens — the web port (customers' widget,
socket.io and REST, and the agents' desk), the Rasa API port and the action-server port —
so nothing else changes; instance i of each server listens on that port + offset + i
(config/runtime.yml ``scale_out``). The instances share PostgreSQL (tracker store and
service DB) and Redis (lock store, socket.io rooms, delivery ledger, rate limits).
docs/deploy.md maps this onto separate machines, containers and Kubernetes.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping

import jinja2
from sqlalchemy.engine import make_url

from kefu import settings
from kefu.runtime.config import runtime_config
from kefu.escalation.desk_config import desk_config

TEMPLATE = "deploy/nginx.conf.template"


class ScaleOutError(RuntimeError):
    """The scaled-out stack cannot start as configured (the message says what to change)."""


@dataclass(frozen=True)
class Layout:
    """Where nginx and each instance listen, for ``instances`` copies of every server."""

    web: int
    rasa: int
    actions: int
    instances: int

    def _ports(self, front: int) -> List[int]:
        offset = runtime_config().scale_out.port_offset
        return [front + offset + i for i in range(self.instances)]

    @property
    def rasa_ports(self) -> List[int]:
        return self._ports(self.rasa)

    @property
    def actions_ports(self) -> List[int]:
        return self._ports(self.actions)

    @property
    def web_ports(self) -> List[int]:
        return self._ports(self.web)

    def all_ports(self) -> List[int]:
        return [self.web, self.rasa, self.actions, *self.rasa_ports, *self.actions_ports, *self.web_ports]


def check_shared_stores(env: Mapping[str, str]) -> None:
    """Instances share state only through PostgreSQL and Redis: refuse anything else."""
    database_url = env.get("KEFU_DATABASE_URL") or settings.database_url()
    if make_url(database_url).get_backend_name() == "sqlite":
        raise ScaleOutError("--scale needs a shared PostgreSQL database: set KEFU_DATABASE_URL, e.g. "
                            "postgresql+psycopg2://postgres@127.0.0.1:5432/kefu (docs/deploy.md)")
    if not env.get("KEFU_REDIS_URL"):
        raise ScaleOutError("--scale needs Redis for locks and socket.io: set KEFU_REDIS_URL, e.g. "
                            "redis://127.0.0.1:6379/0 (docs/deploy.md)")


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        raise ScaleOutError("nginx is not installed: run scripts/install.sh --scale (Debian package nginx-light)")
    return found


def render_nginx_conf(layout: Layout, run_dir: Path, log_dir: Path) -> str:
    policy = runtime_config().scale_out
    template = jinja2.Template((settings.repo_root() / TEMPLATE).read_text(encoding="utf-8"),
                               undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return template.render(
        host=desk_config().web.host,  # where a single desk would listen
        public_port=layout.web, rasa_api_port=layout.rasa, actions_port=layout.actions,
        rasa_ports=layout.rasa_ports, actions_ports=layout.actions_ports, web_ports=layout.web_ports,
        run_dir=run_dir, log_dir=log_dir,
        fail_timeout_s=policy.fail_timeout_s, read_timeout_s=policy.read_timeout_s,
        max_fails=policy.max_fails, connect_timeout_s=policy.connect_timeout_s,
    )


def write_nginx_conf(layout: Layout, var_dir: Path, log_dir: Path) -> Path:
    run_dir = var_dir / f"nginx-{layout.web}"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    conf = run_dir / "nginx.conf"
    conf.write_text(render_nginx_conf(layout, run_dir, log_dir), encoding="utf-8")
    return conf


def nginx_args(conf: Path) -> List[str]:
    return [nginx_binary(), "-c", str(conf), "-p", str(conf.parent), "-e", "stderr"]


def instance_env(kind: str) -> Dict[str, str]:
    """What an instance behind nginx needs to know: to trust nginx's X-Forwarded-For (one
    proxy, so per-address limits see the customer, not nginx), how long a lock of an
    instance that died blocks its conversation, and a listen backlog for the reconnect
    burst when another instance dies (Rasa's default of 100 dropped connections)."""
    if kind == "rasa":
        policy = runtime_config().scale_out
        return {"SANIC_PROXIES_COUNT": "1",
                "TICKET_LOCK_LIFETIME": str(policy.lock_lifetime_s),
                "SANIC_BACKLOG": str(policy.listen_backlog)}
    if kind == "web":
        return {"KEFU_BEHIND_PROXY": "1"}
    return {}


def public_env(layout: Layout, env: Mapping[str, str]) -> Dict[str, str]:
    """Addresses the processes use, all through nginx (set unless the caller set them)."""
    wanted = {
        "KEFU_ACTION_URL": f"http://127.0.0.1:{layout.actions}/webhook",
        "KEFU_RASA_URL": f"http://127.0.0.1:{layout.rasa}",
        "KEFU_RASA_URLS": ",".join(f"http://127.0.0.1:{port}" for port in layout.rasa_ports),  # health
        "KEFU_PUBLIC_RASA_URL": f"http://127.0.0.1:{layout.web}",  # widget: same origin as its page
        "KEFU_PUBLIC_WEB_URL": f"http://127.0.0.1:{layout.web}",
    }
    return {key: value for key, value in wanted.items() if not env.get(key)}


def behind_proxy() -> bool:
    return os.environ.get("KEFU_BEHIND_PROXY", "").strip().lower() in ("1", "true", "yes")
