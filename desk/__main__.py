"""`python -m desk [--host H] [--port P]`: migrate the database, then serve the desk."""

from __future__ import annotations

import argparse

import uvicorn

from kefu import db
from kefu.escalation.desk_config import desk_config
from desk.app import create_app


def main(argv: list[str] | None = None) -> None:
    web = desk_config().web
    parser = argparse.ArgumentParser(prog="python -m desk", description="Kefu agent desk (坐席工作台)")
    parser.add_argument("--host", default=web.host, help=f"default {web.host} (config/desk.yml)")
    parser.add_argument("--port", type=int, default=web.port, help=f"default {web.port} (config/desk.yml)")
    parser.add_argument("--no-migrate", action="store_true", help="do not upgrade the database first")
    args = parser.parse_args(argv)
    if not args.no_migrate:
        db.migrate()
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="info", proxy_headers=False)


if __name__ == "__main__":
    main()
