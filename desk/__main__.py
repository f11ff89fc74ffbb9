"""`python -m desk [--host H] [--port P]`: migrate the database, then serve the desk."""

from __future__ import annotations

import argparse

import uvicorn

from kefu import db
from kefu.escalation.desk_config import desk_config
from desk.app import create_app
from kefu.runtime.scaleout import behind_proxy


def main(argv: list[str] | None = None) -> None:
    web = desk_config().web
    parser = argparse.ArgumentParser(prog="python -m desk", description="Kefu agent desk (坐席工作台)")
    parser.add_argument("--host", default=web.host, help=f"default {web.host} (config/desk.yml)")
    parser.add_argument("--port", type=int, default=web.port, help=f"default {web.port} (config/desk.yml)")
    parser.add_argument("--no-migrate", action="store_true", help="do not upgrade the database first")
    args = parser.parse_args(argv)
    if not args.no_migrate:
        db.migrate()
    # Behind nginx (`./kefu.sh run --scale N`) the client address comes from X-Forwarded-For,
    # trusted from the local proxy only; otherwise forwarded headers are ignored.
    proxied = behind_proxy()
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="info",
                proxy_headers=proxied, forwarded_allow_ips="127.0.0.1" if proxied else None)


if __name__ == "__main__":
    main()
