"""The action server, started as ``python -m actions.server`` (rasa_sdk's server plus guards).

rasa_sdk's own entry point listens on 0.0.0.0 with CORS ``*`` and runs any action for
anyone who can reach it. This one:
- listens on config/security.yml ``bind.actions_host`` (127.0.0.1; KEFU_ACTIONS_HOST);
- answers ``/webhook`` and ``/actions`` only with the shared secret that Rasa's action
  endpoint sends (header ``X-Kefu-Action-Secret``, written into endpoints.yml by
  kefu/runtime/endpoints.py from KEFU_ACTION_SECRET); 401 otherwise;
- sends no CORS headers (only Rasa calls it, never a browser).
"""
from __future__ import annotations

import hmac
import logging
import os
from typing import Optional

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app, create_argument_parser
from sanic import response
from sanic.request import Request

from kefu import settings
from kefu.runtime.action_server import sanic_environment
from kefu.security.config import security_config

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Kefu-Action-Secret"
OPEN_PATHS = ("/health",)  # liveness checks carry no secret and run nothing


def require_secret(secret: str):
    """Sanic request middleware: 401 unless the request carries the shared secret."""

    async def middleware(request: Request) -> Optional[response.HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        supplied = request.headers.get(SECRET_HEADER, "")
        if not supplied or not hmac.compare_digest(supplied.encode(), secret.encode()):
            logger.warning("action server: request to %s without the shared secret refused", request.path)
            return response.json({"error": "unauthorized"}, status=401)
        return None

    return middleware


def build_app(actions_package: str = "actions", secret: Optional[str] = None):
    app = create_app(actions_package, cors_origins="")  # no browser origin is allowed
    app.register_middleware(require_secret(secret or settings.get_secret("KEFU_ACTION_SECRET")), "request")
    return app


def main(argv=None) -> None:
    parser = create_argument_parser()
    parser.add_argument("--host", default=None, help="interface to listen on (default: config/security.yml)")
    args = parser.parse_args(argv)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), args.log_file, args.loglevel,
                                 args.logging_config_file)
    utils.update_sanic_log_level()
    host = args.host or security_config().actions_host()
    os.environ.update(sanic_environment())  # keep-alive/request timeouts, read when the app is created
    app = build_app(args.actions)
    logger.info("Action endpoint is up and running on http://%s:%s", host, args.port)
    app.run(host, args.port, workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    main()
