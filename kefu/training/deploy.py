"""Roll a model out to the running Rasa server(s), and back.

    ./kefu.sh rollout [models/x.tar.gz] [--rasa-url URL ...] [--force] [--status]
    ./kefu.sh rollback [--rasa-url URL ...]

Rollout hot-reloads each Rasa server through its HTTP API (``PUT /model`` with the
token from KEFU_RASA_TOKEN / var/secrets.json), then checks ``GET /status`` reports
the new model file. Conversations continue: the tracker store and lock store stay.

- The model must have an accepted ``./kefu.sh compare`` (same file hash) unless --force.
- The deployed file is copied to var/deploy/models/ so that neither the current nor
  the previous model disappears when models/ is cleaned.
- var/deploy/state.json records ``current`` and ``previous`` (model, path, sha256,
  when, who) and the history. ``rollback`` re-deploys ``previous`` and swaps the two.
- If a server refuses the model, the servers already switched are put back.

Rasa loads the file from its own disk: with several servers, var/ must be on a shared
filesystem (or give each server the same path).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence


from kefu import clock, settings
from kefu.errors import RasaUnavailable
from kefu.rasa_http import RasaClient
from kefu.training.compare import latest_comparison, sha256

KEEP_MODELS = 3  # files kept in var/deploy/models (current and previous always)


class DeployError(Exception):
    pass


def deploy_dir() -> Path:
    return settings.var_dir() / "deploy"


def state_path() -> Path:
    return deploy_dir() / "state.json"


def load_state() -> Dict[str, Any]:
    path = state_path()
    return json.loads(path.read_text("utf-8")) if path.exists() else {"current": None, "previous": None, "history": []}


def save_state(state: Dict[str, Any]) -> None:
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".state-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(state, f, ensure_ascii=False, indent=2)
    os.replace(tmp, path)


def current_model() -> Optional[Path]:
    """The rolled-out model file, if any (for starting Rasa with it after a restart)."""
    current = load_state().get("current")
    return Path(current["path"]) if current and Path(current["path"]).exists() else None


def default_urls() -> List[str]:
    return [settings.rasa_url()]


def put_model(url: str, token: str, model: Path, timeout: float) -> None:
    """Ask one Rasa server to load ``model``; verify with /status."""
    client = RasaClient(base_url=url, token=token, timeout=timeout)
    try:
        try:
            client.load_model(str(model))
        except RasaUnavailable as error:
            raise DeployError(f"{url}: {error.message}") from None
        try:
            loaded = client.status().get("model_file")
        except RasaUnavailable:
            loaded = None
    finally:
        client.close()
    if loaded != model.name:
        raise DeployError(f"{url}: /status reports {loaded!r}, expected {model.name!r}")


def _keep(model: Path) -> Path:
    """Copy the model into var/deploy/models (unless it is there already)."""
    target_dir = deploy_dir() / "models"
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / model.name
    if model.resolve() != target.resolve():
        if not target.exists() or sha256(target) != sha256(model):
            tmp = target.with_suffix(".part")
            shutil.copy2(model, tmp)
            os.replace(tmp, target)
    return target


def _prune(state: Dict[str, Any]) -> None:
    keep = {Path(e["path"]).name for e in (state.get("current"), state.get("previous")) if e}
    files = sorted((deploy_dir() / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in files[KEEP_MODELS:]:
        if path.name not in keep:
            path.unlink()


def _switch(urls: Sequence[str], token: str, model: Path, fallback: Optional[Path], timeout: float) -> None:
    done: List[str] = []
    for url in urls:
        try:
            put_model(url, token, model, timeout)
        except DeployError:
            for switched in done:  # leave no server on the new model if one refused it
                if fallback is not None:
                    try:
                        put_model(switched, token, fallback, timeout)
                    except DeployError as again:
                        print(f"WARNING: could not restore {switched}: {again}", file=sys.stderr)
            raise
        done.append(url)


def _entry(path: Path, sha: str, actor: str, action: str) -> Dict[str, Any]:
    return {"model": path.name, "path": str(path), "sha256": sha, "action": action, "by": actor,
            "at": clock.now().isoformat(timespec="seconds")}


def rollout(model: Path, urls: Optional[Sequence[str]] = None, token: Optional[str] = None, force: bool = False,
            actor: Optional[str] = None, timeout: float = 600) -> Dict[str, Any]:
    model = Path(model)
    if not model.exists():
        raise DeployError(f"no such model: {model}")
    urls = list(urls or default_urls())
    token = token or settings.get_secret("KEFU_RASA_TOKEN")
    actor = actor or os.environ.get("USER", "cli")
    sha = sha256(model)
    state = load_state()
    if state.get("current") and state["current"]["sha256"] == sha and not force:
        raise DeployError(f"{model.name} is already the current model")
    if not force:
        verdict = latest_comparison(sha)
        if verdict is None:
            raise DeployError(f"{model.name} has not been compared: run ./kefu.sh compare --candidate {model} "
                              "(or rollout --force)")
        if not verdict["accepted"]:
            raise DeployError(f"{model.name} was REFUSED by compare: {'; '.join(verdict['reasons'])}")
    kept = _keep(model)
    previous = Path(state["current"]["path"]) if state.get("current") else None
    _switch(urls, token, kept, previous if previous and previous.exists() else None, timeout)
    entry = _entry(kept, sha, actor, "rollout")
    state["previous"], state["current"] = state.get("current"), entry
    state.setdefault("history", []).append({**entry, "servers": urls})
    save_state(state)
    _prune(state)
    return state


def rollback(urls: Optional[Sequence[str]] = None, token: Optional[str] = None, actor: Optional[str] = None,
             timeout: float = 600) -> Dict[str, Any]:
    state = load_state()
    previous = state.get("previous")
    if not previous:
        raise DeployError("no previous model to roll back to")
    path = Path(previous["path"])
    if not path.exists():
        raise DeployError(f"the previous model file is gone: {path}")
    urls = list(urls or default_urls())
    token = token or settings.get_secret("KEFU_RASA_TOKEN")
    current = Path(state["current"]["path"]) if state.get("current") else None
    _switch(urls, token, path, current if current and current.exists() else None, timeout)
    entry = _entry(path, previous["sha256"], actor or os.environ.get("USER", "cli"), "rollback")
    state["previous"], state["current"] = state.get("current"), entry
    state.setdefault("history", []).append({**entry, "servers": urls})
    save_state(state)
    return state


def _print_state(state: Dict[str, Any]) -> None:
    for key in ("current", "previous"):
        entry = state.get(key)
        print(f"{key:<9} {entry['model'] + '  (' + entry['action'] + ' ' + entry['at'] + ' by ' + entry['by'] + ')' if entry else '–'}")


def main(argv: Optional[List[str]] = None, command: str = "rollout") -> int:
    parser = argparse.ArgumentParser(prog=f"kefu {command}", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    if command == "rollout":
        parser.add_argument("model", nargs="?", type=Path, help="default: the newest model in models/")
        parser.add_argument("--force", action="store_true", help="skip the compare gate")
        parser.add_argument("--status", action="store_true", help="only show current and previous model")
    parser.add_argument("--rasa-url", action="append", dest="urls", help="Rasa server (repeat for several)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per server to load the model")
    args = parser.parse_args(argv or [])
    try:
        if command == "rollback":
            state = rollback(args.urls, timeout=args.timeout)
            print(f"rolled back to {state['current']['model']}")
        elif args.status:
            state = load_state()
        else:
            from kefu.training.project import Project

            model = args.model or Project.default().latest_model()
            if model is None:
                print("no model: run ./kefu.sh train first", file=sys.stderr)
                return 2
            print(f"rolling out {model.name} to {', '.join(args.urls or default_urls())} (loading takes ~1-2 min) …",
                  flush=True)
            state = rollout(model, args.urls, force=args.force, timeout=args.timeout)
            print(f"rolled out {state['current']['model']}")
    except DeployError as error:
        print(f"{command} refused: {error}", file=sys.stderr)
        return 1
    _print_state(state)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
