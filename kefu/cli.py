"""Kefu's command line (called through ./kefu.sh, which installs first).

    ./kefu.sh run        migrate, seed demo data, train if needed, start everything
    ./kefu.sh test       train if needed, run every test suite
    ./kefu.sh test --fast   the no-model tier (core, desk, actions, ...): no training, no Rasa stack, no browser
    ./kefu.sh lint       ruff (lint + format), mypy (strict core list), import-linter (pyproject.toml)
    ./kefu.sh train      train a model (skipped by Rasa when nothing changed)
    ./kefu.sh evaluate   holdout NLU report + test stories (see kefu/training/evaluate.py)
    ./kefu.sh export     real conversations -> review files (NLU + test stories), personal data masked
    ./kefu.sh accept     reviewed examples -> data/nlu/reviewed.yml (holdout and conflicts refused)
    ./kefu.sh validate   Rasa's validator + Kefu's data checks
    ./kefu.sh compare    candidate vs current model on the same tests (the rollout gate)
    ./kefu.sh rollout    hot-reload the running Rasa server(s) with a model; rollback: the previous one
    (trainer workflow: docs/trainers.md; each takes --help)
    ./kefu.sh seed       load the demo brand's customers, orders and tickets
    ./kefu.sh migrate    upgrade the service database to the latest schema
    ./kefu.sh customer-token PHONE   sign a customer token for a demo (the brand site's sign-in)
    ./kefu.sh status     health of each part (Rasa, actions, desk, DBs, Redis) and each process
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path
from typing import List, Optional

from kefu import settings


def _python(*args: str, check: bool = True) -> int:
    proc = subprocess.run([sys.executable, *args], cwd=settings.repo_root())
    if check and proc.returncode != 0:
        sys.exit(proc.returncode)
    return proc.returncode


def cmd_migrate(_: argparse.Namespace) -> None:
    from kefu.db import migrate

    migrate()
    print(f"database migrated: {settings.database_url()}")


def cmd_seed(args: argparse.Namespace) -> None:
    history = getattr(args, "history", None)
    _python("-m", "kefu.seed", *(["--reset"] if getattr(args, "reset", False) else []),
            *(["--history", str(history)] if history else []))


def cmd_customer_token(args: argparse.Namespace) -> None:
    """Sign a customer token for an existing customer, as the brand site does at sign-in."""
    from urllib.parse import quote

    from kefu.db import session_scope
    from kefu.errors import InvalidPhone
    from kefu.services import customers
    from kefu.tokens import sign_customer_token

    try:
        with session_scope() as session:
            customer = customers.find_customer_by_phone(session, args.phone)
            found = (customer.id, customer.phone, customer.name, customer.tier) if customer else None
    except InvalidPhone:
        sys.exit(f"not a mainland mobile number: {args.phone}")
    if found is None:
        sys.exit(f"no customer with phone {args.phone} (run ./kefu.sh seed for the demo customers)")
    customer_id, phone, name, tier = found
    token = sign_customer_token(customer_id, phone, args.ttl)
    print(token)
    port = os.environ.get("KEFU_WEB_PORT", "8000")
    print(f"customer {customer_id} {name or ''} ({tier}); demo page signed in as them:\n"
          f"  http://127.0.0.1:{port}/widget/demo?customer_token={quote(token)}", file=sys.stderr)


def latest_model() -> Optional[Path]:
    return settings.latest_model()


def cmd_train(args: argparse.Namespace) -> None:
    from kefu.training.train import train

    train(finetune=getattr(args, "finetune", False), force=getattr(args, "force", False))


def cmd_evaluate(args: argparse.Namespace) -> None:
    from kefu.training.evaluate import main as evaluate_main

    sys.exit(evaluate_main(args.rest))


def _trainer_command(module: str, **kwargs):
    """``./kefu.sh <name> …``: kefu.training.<module>.main(rest) (its own --help)."""

    def run(args: argparse.Namespace) -> None:
        import importlib

        sys.exit(importlib.import_module(f"kefu.training.{module}").main(args.rest, **kwargs))

    return run


def cmd_run(args: argparse.Namespace) -> None:
    from kefu.runtime import scaleout
    from kefu.runtime.stack import start_stack

    scale = getattr(args, "scale", 1)
    if scale > 1:  # refuse before migrating or training
        try:
            scaleout.check_shared_stores(os.environ)
            scaleout.nginx_binary()
        except scaleout.ScaleOutError as exc:
            sys.exit(f"kefu run --scale {scale}: {exc}")

    cmd_migrate(args)
    _python("-m", "kefu.seed")  # deterministic and idempotent
    _python("-m", "kefu.runtime.demo_accounts")
    cmd_train(argparse.Namespace(finetune=False, force=False))
    print("starting action server, Rasa server and web app (model load takes ~20 s on 2 idle cores)…", flush=True)
    from kefu.training.deploy import current_model

    # A rolled-out (or rolled-back) model wins over the newest file in models/.
    deployed = current_model()
    stack = start_stack(model=str(deployed) if deployed else "models", scale=scale)
    behind = f"  ({scale} instances of each server behind nginx)\n" if scale > 1 else ""
    print(
        "\nKefu is running:\n" + behind +
        f"  demo page + chat widget  {stack.web_url}/\n"
        f"  agent desk               {stack.web_url}/desk  (demo accounts: var/demo-accounts.txt)\n"
        f"  Rasa HTTP API            {stack.rasa_url}  (token in var/secrets.json)\n"
        f"  logs                     {stack.log_dir}\n"
        "Press Ctrl+C to stop.",
        flush=True,
    )
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    # Ctrl+C, and also `kill` / a process manager's SIGTERM: stop the children too.
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        watch(stack)
    except KeyboardInterrupt:
        print("stopping…")
    stack.stop()


def watch(stack, poll_seconds: float = 1.0) -> None:
    """Report supervisord's restarts while the stack serves; return if supervisord itself ends.

    supervisord restarts a process that died (and gives up after the retries of
    config/runtime.yml); the others keep serving. The reasons are in var/logs/supervisord.log.
    """
    seen: dict = {}
    while stack.running():
        try:
            states = {p["name"]: p for p in stack.rpc().getAllProcessInfo()}
        except (OSError, xmlrpc.client.Fault):  # not up yet, or shutting down (Fault SHUTDOWN_STATE)
            time.sleep(poll_seconds)
            continue
        for name, info in states.items():
            now = (info["statename"], info["pid"])
            before = seen.setdefault(name, now)
            if before != now:
                why = info["spawnerr"] or f"last exit status {info['exitstatus']}"
                print(f"{name}: {before[0].lower()} pid {before[1]} -> {now[0].lower()} pid {now[1]} ({why}); "
                      f"see {stack.log_dir / 'supervisord.log'}", flush=True)
            seen[name] = now
        time.sleep(poll_seconds)
    print(f"supervisord ended; see {stack.log_dir / 'supervisord.log'}")
    sys.exit(1)


def cmd_status(_: argparse.Namespace) -> None:
    """Each part's health (as GET /healthz/full) and each supervised process; exit 1 if any is down."""
    import asyncio

    from kefu.runtime import health, supervise
    from kefu.runtime.stack import Ports

    ports = Ports()
    targets = health.Targets.from_env(desk_url=f"http://127.0.0.1:{ports.web}")
    parts = asyncio.run(health.check_all(targets))
    for name, part in parts.items():
        print(f"{name:<14} {'up' if part.up else 'DOWN':<5} {part.ms:>5} ms  {part.detail}")
    socket = Path(os.environ.get("KEFU_VAR_DIR") or settings.var_dir()) / "logs" / f"supervisor-{ports.rasa}.sock"
    try:
        for name, info in supervise.process_states(socket).items():
            print(f"process {name:<8} {info['statename']:<8} {info['description']}")
    except OSError:
        print(f"process manager: not running (no {socket})")
    sys.exit(0 if all(p.up for p in parts.values()) else 1)


# The fast tier: every test that needs neither a trained model, nor a running stack, nor
# a browser, nor a training run (markers registered in pytest.ini).
FAST_TIER = "not model and not e2e and not browser and not slow"


def cmd_test(args: argparse.Namespace) -> None:
    rest = list(args.rest)
    fast = "--fast" in rest
    if fast:
        rest.remove("--fast")
        rest = ["-m", FAST_TIER, "-p", "no:cacheprovider", *rest]
    else:
        cmd_train(argparse.Namespace(finetune=False, force=False))
    pytest_args: List[str] = ["-m", "pytest", "-q", "-rfE", "--durations=15", *rest]
    started = time.monotonic()
    status = _python(*pytest_args, check=False)
    if fast:
        print(f"fast tier: {time.monotonic() - started:.0f} s")
    sys.exit(status)


def cmd_lint(_: argparse.Namespace) -> None:
    from kefu import lint

    status, _output = lint.run()
    sys.exit(status)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="kefu", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="start the whole product")
    p.add_argument("--scale", type=int, default=1, metavar="N",
                   help="N instances of Rasa, action server and desk behind nginx (needs PostgreSQL "
                        "and Redis: KEFU_DATABASE_URL, KEFU_REDIS_URL; docs/deploy.md)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("test", help="run all test suites (--fast: the no-model tier; extra args go to pytest)")
    p.set_defaults(func=cmd_test, passthrough=True)
    sub.add_parser("lint", help="ruff, mypy and import-linter (pyproject.toml)").set_defaults(func=cmd_lint)
    p = sub.add_parser("train", help="train a model")
    p.add_argument("--finetune", action="store_true", help="fine-tune the latest model (quick update)")
    p.add_argument("--force", action="store_true", help="train even if nothing changed")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("evaluate", help="evaluate the latest model (see --help of kefu.training.evaluate)")
    p.set_defaults(func=cmd_evaluate, passthrough=True)
    for name, module, kwargs, text in (
        ("export", "export", {}, "export conversations for review (--help for filters)"),
        ("accept", "accept", {}, "accept reviewed examples into data/nlu/reviewed.yml"),
        ("validate", "validate", {}, "validate the training data"),
        ("compare", "compare", {}, "compare candidate and current model; refuse worse ones"),
        ("rollout", "deploy", {"command": "rollout"}, "hot-reload Rasa with a model (compared first)"),
        ("rollback", "deploy", {"command": "rollback"}, "hot-reload Rasa with the previous model"),
    ):
        p = sub.add_parser(name, help=text, add_help=False)  # --help goes to the module's parser
        p.set_defaults(func=_trainer_command(module, **kwargs), passthrough=True)
    p = sub.add_parser("seed", help="load demo data")
    p.add_argument("--reset", action="store_true")
    p.add_argument("--history", type=int, metavar="DAYS", help="also seed DAYS of analytics history (e.g. 365)")
    p.set_defaults(func=cmd_seed)
    sub.add_parser("migrate", help="migrate the service database").set_defaults(func=cmd_migrate)
    p = sub.add_parser("customer-token", help="sign a customer token for a demo (prints it)")
    p.add_argument("phone", help="the customer's mobile number (must be in the service database)")
    p.add_argument("--ttl", type=int, default=None, help="lifetime in seconds (default: tokens.customer_ttl_seconds)")
    p.set_defaults(func=cmd_customer_token)
    sub.add_parser("status", help="health of every part of the running product").set_defaults(func=cmd_status)
    args, rest = parser.parse_known_args(argv)
    if rest and not getattr(args, "passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    os.chdir(settings.repo_root())
    args.func(args)


if __name__ == "__main__":
    main()
