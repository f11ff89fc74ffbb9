"""./kefu.sh rollout / rollback: the compare gate, and hot reloads of a real Rasa server."""
from __future__ import annotations

import json
import socket
import sys
import uuid

import httpx
import pytest

from kefu.runtime.stack import Ports, Stack, base_env
from kefu.training import compare, deploy
from kefu.training.deploy import DeployError
from tests.training.conftest import copy_model


def _record(model, accepted, reasons=()):
    path = compare.comparisons_log()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"candidate": model.name, "candidate_sha256": compare.sha256(model),
                            "accepted": accepted, "reasons": list(reasons)}) + "\n")


def test_rollout_needs_an_accepted_comparison(tmp_path):
    model = tmp_path / "candidate.tar.gz"
    model.write_bytes(b"not really a model")
    with pytest.raises(DeployError, match="has not been compared"):
        deploy.rollout(model, urls=["http://127.0.0.1:9"], token="t")
    _record(model, False, ["2 test stories fail"])
    with pytest.raises(DeployError, match="REFUSED by compare: 2 test stories fail"):
        deploy.rollout(model, urls=["http://127.0.0.1:9"], token="t")
    _record(model, True)  # accepted now: the gate opens, and the (absent) server is the problem
    with pytest.raises(DeployError, match="Rasa unreachable"):
        deploy.rollout(model, urls=["http://127.0.0.1:9"], token="t", timeout=2)
    assert deploy.load_state()["current"] is None  # nothing recorded for a failed rollout


def test_rollback_needs_a_previous_model():
    with pytest.raises(DeployError, match="no previous model"):
        deploy.rollback(urls=["http://127.0.0.1:9"], token="t")
    assert deploy.main(["--rasa-url", "http://127.0.0.1:9"], command="rollback") == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def rasa_server(tmp_path, good_model):
    """A real `rasa run --enable-api` on a private port, serving the tiny good model."""
    token = "deploy-" + uuid.uuid4().hex
    port = _free_port()
    stack = Stack(ports=Ports(rasa=port), env=base_env({"RASA_TELEMETRY_ENABLED": "false", "KEFU_ACTION_SECRET": "deploy-" + uuid.uuid4().hex}),
                  log_dir=tmp_path / "logs")  # endpoints.yml names the action secret
    stack.start("rasa", [sys.executable, "-m", "rasa", "run", "--enable-api", "--auth-token", token,
                         "--port", str(port), "--model", str(good_model)])
    try:
        stack.wait_until_ready("rasa", f"{stack.rasa_url}/status?token={token}", 300, expect="model_file")
        yield stack.rasa_url, token
    finally:
        stack.stop()


def _loaded(url, token):
    return httpx.get(f"{url}/status", params={"token": token}, timeout=10).json()["model_file"]


@pytest.mark.slow
def test_rollout_and_rollback_hot_reload_the_running_server(rasa_server, project, good_model, worse_model, tmp_path):
    url, token = rasa_server
    first = copy_model(good_model, project.models)
    second = copy_model(worse_model, project.models)
    _record(first, True)
    _record(second, True)

    state = deploy.rollout(first, urls=[url], token=token, actor="trainer1")
    assert _loaded(url, token) == first.name
    assert state["current"]["model"] == first.name and state["previous"] is None

    state = deploy.rollout(second, urls=[url], token=token, actor="trainer1")
    assert _loaded(url, token) == second.name
    assert (state["current"]["model"], state["previous"]["model"]) == (second.name, first.name)
    kept = sorted(p.name for p in (deploy.deploy_dir() / "models").glob("*.tar.gz"))
    assert kept == sorted([first.name, second.name])  # the previous model is kept in var/deploy/models
    with pytest.raises(DeployError, match="already the current model"):
        deploy.rollout(second, urls=[url], token=token)
    # The server still answers conversations after the reload.
    reply = httpx.post(f"{url}/model/parse", params={"token": token}, json={"text": "你好"}, timeout=30)
    assert reply.status_code == 200 and reply.json()["intent"]["name"]

    state = deploy.rollback(urls=[url], token=token, actor="trainer1")
    assert _loaded(url, token) == first.name
    assert (state["current"]["model"], state["previous"]["model"]) == (first.name, second.name)
    assert [h["action"] for h in deploy.load_state()["history"]] == ["rollout", "rollout", "rollback"]
    assert deploy.current_model().name == first.name

    # A file Rasa cannot load: refused, and the server keeps serving the current model.
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"this is not a model")
    with pytest.raises(DeployError, match="PUT /model answered HTTP"):
        deploy.rollout(broken, urls=[url], token=token, force=True)
    assert _loaded(url, token) == first.name
    assert deploy.load_state()["current"]["model"] == first.name
    # A wrong token is refused by Rasa.
    with pytest.raises(DeployError, match="HTTP 401"):
        deploy.rollout(second, urls=[url], token="wrong", force=True)
