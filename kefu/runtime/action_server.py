"""How the action server is started: its command line and its connection settings.

The server itself is actions/server.py (rasa_sdk plus the shared-secret check). Sanic
(the action server's web framework) reads ``SANIC_*`` environment variables into its
config when the app is created; the keep-alive and request timeouts come from
config/reliability.yml (see the comment there: Sanic's 5 s default closed fresh
connections that a busy Rasa had not written to yet).
"""
from __future__ import annotations

import sys
from typing import Dict, List

from kefu.runtime.reliability import reliability_config


def sanic_environment() -> Dict[str, str]:
    server = reliability_config().action_server
    return {
        "SANIC_KEEP_ALIVE_TIMEOUT": str(server.keep_alive_timeout_s),
        "SANIC_REQUEST_TIMEOUT": str(server.request_timeout_s),
    }


def action_server_args(port: int, actions_package: str = "actions") -> List[str]:
    """The command line that starts the action server on ``port``."""
    return [sys.executable, "-m", "actions.server", "--actions", actions_package, "--port", str(port)]
