"""Rasa's server, started as ``python -m channels.rasa_server <rasa run options>``.

Same as ``rasa run`` plus what must not be on a command line or left open:
- the HTTP API token comes from KEFU_RASA_TOKEN or var/secrets.json (kefu.settings), not
  from ``--auth-token`` (a command line is visible to every local user in ``ps``);
- the action endpoint's shared secret (KEFU_ACTION_SECRET, referenced as
  ``${KEFU_ACTION_SECRET}`` in the generated endpoints.yml) is read the same way;
- it listens on config/security.yml ``bind.rasa_host`` (127.0.0.1; KEFU_RASA_HOST)
  unless ``--interface`` is given;
- CORS allows only the configured site origins and the web app's own origin, never ``*``.
"""
from __future__ import annotations

import os
import sys
from typing import List, Optional

from kefu import settings
from kefu.security.config import security_config


def rasa_argv(argv: List[str], env: Optional[dict] = None) -> List[str]:
    """`rasa run` arguments: the given ones plus token, interface and CORS origins."""
    env = os.environ if env is None else env
    if any(a == "-t" or a.startswith("--auth-token") for a in argv):
        raise SystemExit("pass the Rasa API token in KEFU_RASA_TOKEN (or var/secrets.json), not on the command line")
    if "--cors" in argv and "*" in argv:
        raise SystemExit("CORS '*' is not allowed: list the site origins in config/security.yml")
    config = security_config()
    # "=": a generated token may start with "-", which argparse would take for an option
    # (a clean clone's `./kefu.sh run` failed: "argument -t/--auth-token: expected one argument")
    extra = [f"--auth-token={settings.get_secret('KEFU_RASA_TOKEN')}"]
    if "--interface" not in argv and "-i" not in argv:
        extra += ["--interface", config.rasa_host()]
    if "--cors" not in argv:
        extra += ["--cors", *config.origins(env)]
    return ["run", *argv, *extra]


def main() -> None:
    os.environ.setdefault("KEFU_ACTION_SECRET", settings.get_secret("KEFU_ACTION_SECRET"))
    # Changing sys.argv does not change the process's visible command line (/proc/<pid>/cmdline).
    sys.argv = [sys.argv[0], *rasa_argv(sys.argv[1:])]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
