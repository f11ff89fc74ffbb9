"""Start Kefu's processes under supervisord: Rasa server(s), action server, web app.

Used by `./kefu.sh run` and by the end-to-end test fixtures, so the product and the
tests start the stack the same way.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Optional, Tuple
import xmlrpc.client

import httpx

from kefu import clock, settings
from kefu.runtime import scaleout, supervise
from kefu.runtime.action_server import action_server_args
from kefu.runtime.config import runtime_config
from kefu.runtime.endpoints import write_endpoints


def instance_name(kind: str, i: int) -> str:
    """supervisord's name for instance ``i`` (0-based) of a server: rasa, rasa2, rasa3, …"""
    return kind if i == 0 else f"{kind}{i + 1}"


@dataclass
class Ports:
    rasa: int = int(os.environ.get("KEFU_RASA_PORT", 5005))
    actions: int = int(os.environ.get("KEFU_ACTIONS_PORT", 5055))
    web: int = int(os.environ.get("KEFU_WEB_PORT", 8000))
    extra_rasa: Tuple[int, ...] = ()  # more Rasa instances (they share the Redis lock store)


@dataclass
class Stack:
    """A running set of Kefu processes under one supervisord (logs under var/logs).

    supervisord (kefu/runtime/supervise.py) restarts whichever process dies; this class
    writes its configuration, starts it and asks it about / for its processes.
    """

    ports: Ports
    env: Dict[str, str]
    log_dir: Path
    commands: Dict[str, List[str]] = field(default_factory=dict)
    token: str = ""
    supervisord: Optional[subprocess.Popen] = None

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.rasa}"

    layout: Optional[scaleout.Layout] = None  # set when scaled out behind nginx

    @property
    def rasa_urls(self) -> List[str]:
        """Each Rasa instance's own address (behind nginx when scaled out)."""
        if self.layout:
            return [f"http://127.0.0.1:{port}" for port in self.layout.rasa_ports]
        return [self.rasa_url] + [f"http://127.0.0.1:{port}" for port in self.ports.extra_rasa]

    def rasa_name(self, i: int) -> str:
        return instance_name("rasa", i)

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.web}"

    @property
    def socket(self) -> Path:
        return self.log_dir / f"supervisor-{self.ports.rasa}.sock"

    def rpc(self):
        return supervise.rpc(self.socket).supervisor

    def _write_conf(self) -> Path:
        conf = self.socket.with_suffix(".conf")
        conf.write_text(supervise.supervisord_conf(
            self.commands, socket=self.socket, log_dir=self.log_dir, cwd=settings.repo_root(),
            policy=runtime_config().supervision,
        ), encoding="utf-8")
        return conf

    def running(self) -> bool:
        return self.supervisord is not None and self.supervisord.poll() is None

    def start(self, name: str, args: List[str]) -> None:
        """Add a process to the stack; supervisord starts it and restarts it when it dies."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.commands[name] = args
        conf = self._write_conf()
        if self.running():
            self.rpc().reloadConfig()
            self.rpc().addProcessGroup(name)
            return
        log = open(self.log_dir / "supervisord.out", "ab")
        self.supervisord = subprocess.Popen(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(conf)],
            cwd=settings.repo_root(), env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # so that stop() can end the whole process group
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                self.rpc().getState()
                return
            except (OSError, xmlrpc.client.Fault) as exc:
                if self.supervisord.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"supervisord did not start; see {self.log_dir / 'supervisord.out'}") from exc
                time.sleep(0.2)

    def info(self, name: str) -> Dict:
        return self.rpc().getProcessInfo(name)

    def pid(self, name: str) -> int:
        return int(self.info(name)["pid"])

    def stop(self, name: Optional[str] = None) -> None:
        """Stop one process for good (``name``) or the whole stack."""
        if not self.running():
            return
        if name:
            if self.info(name)["statename"] in ("STARTING", "RUNNING", "BACKOFF"):
                self.rpc().stopProcess(name)
            self.rpc().removeProcessGroup(name)
            self.commands.pop(name, None)
            return
        assert self.supervisord is not None
        policy = runtime_config().supervision
        children = [p["pid"] for p in self.rpc().getAllProcessInfo() if p["pid"]]  # each leads its own group
        try:
            self.rpc().shutdown()  # stops every program (SIGTERM, then SIGKILL after stop_seconds)
            self.supervisord.wait(timeout=sum(policy.policy(n).stop_seconds for n in self.commands) + 30)
        except (OSError, xmlrpc.client.Fault, subprocess.TimeoutExpired):
            os.killpg(self.supervisord.pid, signal.SIGKILL)
            self.supervisord.wait()
        for pid in children:  # none outlives the stack, even if supervisord had to be killed
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def restart(self, name: str) -> None:
        """Stop a process and start it again with the same command (e.g. a Rasa restart)."""
        if self.info(name)["statename"] in ("STARTING", "RUNNING", "BACKOFF"):
            self.rpc().stopProcess(name)
        self.rpc().startProcess(name, False)

    def wait_rasa(self, timeout: Optional[float] = None) -> None:
        # Rasa answers /status only once the model is loaded (~20 s on 2 idle cores; longer
        # on a busy machine: KEFU_RASA_READY_SECONDS).
        timeout = timeout or float(os.environ.get("KEFU_RASA_READY_SECONDS", 300))
        for i, url in enumerate(self.rasa_urls):
            self.wait_until_ready(self.rasa_name(i), f"{url}/status?token={self.token}", timeout, expect="model_file")

    def wait_until_ready(self, name: str, url: str, timeout: float, expect: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.info(name)
            if state["statename"] in ("FATAL", "EXITED", "STOPPED"):
                raise RuntimeError(f"{name} is {state['statename']} ({state['spawnerr'] or state['description']}); "
                                   f"see {self.log_dir / (name + '.log')} and {self.log_dir / 'supervisord.log'}")
            try:
                r = httpx.get(url, timeout=2)
                if r.status_code < 500 and expect in r.text:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{name} not ready at {url} after {timeout:.0f}s; see {self.log_dir / (name + '.log')}")


def base_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env["PYTHONPATH"] = str(settings.repo_root()) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra or {})
    if env.get(clock.NOW_VAR) and not env.get(clock.ANCHOR_VAR):
        # one anchor for every child, so Rasa, actions and desk agree on the fake time
        env[clock.ANCHOR_VAR] = str(clock.wall_now().timestamp())
    clock.shift_from_environment(env)  # refuse a fake clock without the flag before starting anything
    return env


def rasa_args(ports: Ports, endpoints: Path, model: str) -> List[str]:
    """Rasa's command line. No secret on it: channels.rasa_server reads the API token from
    KEFU_RASA_TOKEN (or var/secrets.json) and adds the bind interface and CORS origins."""
    return [
        sys.executable, "-m", "channels.rasa_server",
        "--enable-api",
        "--port", str(ports.rasa), "--endpoints", str(endpoints),
        "--credentials", str(settings.repo_root() / "credentials.yml"),
        "--model", model,
    ]


def start_stack(
    *,
    ports: Optional[Ports] = None,
    env: Optional[Dict[str, str]] = None,
    model: str = "models",
    with_web: bool = True,
    log_dir: Optional[Path] = None,
    rasa_timeout: Optional[float] = None,
    scale: int = 1,
) -> Stack:
    """Start action server, Rasa server(s) and (optionally) the web app; wait until all answer.

    ``scale`` > 1: that many of each behind nginx on the same ports (kefu/runtime/scaleout.py).
    """
    ports = ports or Ports()
    full_env = base_env(env)
    if scale > 1:
        return _start_scaled(ports, full_env, model, log_dir, rasa_timeout, scale)
    full_env.setdefault("KEFU_ACTION_URL", f"http://127.0.0.1:{ports.actions}/webhook")
    full_env.setdefault("KEFU_RASA_URL", f"http://127.0.0.1:{ports.rasa}")
    rasa_ports = (ports.rasa, *ports.extra_rasa)
    full_env.setdefault("KEFU_RASA_URLS", ",".join(f"http://127.0.0.1:{port}" for port in rasa_ports))  # health
    full_env.setdefault("KEFU_PUBLIC_RASA_URL", f"http://127.0.0.1:{ports.rasa}")  # what browsers connect to
    full_env.setdefault("KEFU_PUBLIC_WEB_URL", f"http://127.0.0.1:{ports.web}")  # an allowed CORS origin
    var, endpoints, token = _prepare(ports, full_env)
    stack = Stack(ports=ports, env=full_env, log_dir=log_dir or var / "logs", token=token)
    stack.start("actions", action_server_args(ports.actions))  # keep-alive + shared secret: actions/server.py
    stack.start("rasa", rasa_args(ports, endpoints, model))
    for i, port in enumerate(ports.extra_rasa, start=1):  # e.g. two instances behind a load balancer
        stack.start(instance_name("rasa", i), rasa_args(replace(ports, rasa=port), endpoints, model))
    if with_web:
        stack.start("web", [sys.executable, "-m", "desk", "--port", str(ports.web)])
    try:
        stack.wait_until_ready("actions", f"http://127.0.0.1:{ports.actions}/health", 120)
        if with_web:
            stack.wait_until_ready("web", f"{stack.web_url}/healthz", 60)
        stack.wait_rasa(rasa_timeout)
    except Exception:
        stack.stop()
        raise
    return stack


def _prepare(ports: Ports, full_env: Dict[str, str]) -> Tuple[Path, Path, str]:
    """The var dir, Rasa's endpoints (for the addresses already in ``full_env``) and the API
    token. Secrets travel in the children's environment (readable by their user only), never in argv."""
    var = Path(full_env.get("KEFU_VAR_DIR") or settings.var_dir())
    token = full_env.get("KEFU_RASA_TOKEN") or settings.get_secret("KEFU_RASA_TOKEN")
    full_env["KEFU_RASA_TOKEN"] = token
    full_env.setdefault("KEFU_ACTION_SECRET", settings.get_secret("KEFU_ACTION_SECRET"))
    full_env.setdefault("KEFU_REST_TOKEN", settings.get_secret("KEFU_REST_TOKEN"))  # REST channel callers
    db_url = full_env.get("KEFU_DATABASE_URL") or settings.database_url()
    endpoints = write_endpoints(var / f"endpoints-{ports.rasa}.yml", db_url, var, env=full_env)
    return var, endpoints, token


def _start_scaled(ports: Ports, full_env: Dict[str, str], model: str, log_dir: Optional[Path],
                  rasa_timeout: Optional[float], scale: int) -> Stack:
    scaleout.check_shared_stores(full_env)
    layout = scaleout.Layout(web=ports.web, rasa=ports.rasa, actions=ports.actions, instances=scale)
    full_env.update(scaleout.public_env(layout, full_env))
    var, endpoints, token = _prepare(ports, full_env)
    stack = Stack(ports=ports, env=full_env, log_dir=log_dir or var / "logs", token=token, layout=layout)
    nginx_conf = scaleout.write_nginx_conf(layout, var, stack.log_dir)
    try:
        for i in range(scale):
            stack.start(instance_name("actions", i), action_server_args(layout.actions_ports[i]))
            stack.start(instance_name("rasa", i), _with_env(scaleout.instance_env("rasa"),
                                                  rasa_args(replace(ports, rasa=layout.rasa_ports[i]), endpoints, model)))
            stack.start(instance_name("web", i), _with_env(scaleout.instance_env("web"),
                                                 [sys.executable, "-m", "desk", "--port", str(layout.web_ports[i])]))
        stack.start("nginx", scaleout.nginx_args(nginx_conf))
        for i in range(scale):
            stack.wait_until_ready(instance_name("actions", i), f"http://127.0.0.1:{layout.actions_ports[i]}/health", 120)
            stack.wait_until_ready(instance_name("web", i), f"http://127.0.0.1:{layout.web_ports[i]}/healthz", 60)
        stack.wait_until_ready("nginx", f"{stack.web_url}/healthz", 30)
        stack.wait_rasa(rasa_timeout)
    except BaseException:
        stack.stop()  # no orphans, whichever start failed
        raise
    return stack


def _with_env(extra: Dict[str, str], args: List[str]) -> List[str]:
    """A command with a few more environment variables (supervisord passes its own to all)."""
    return ["env", *(f"{key}={value}" for key, value in extra.items()), *args] if extra else args
