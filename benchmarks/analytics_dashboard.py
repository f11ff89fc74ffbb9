"""Analytics dashboard query time on a year of history in PostgreSQL.

    python benchmarks/analytics_dashboard.py [--admin-url postgresql://postgres@127.0.0.1:5432/test]
                                             [--days 365] [--repeat 3]

Creates a fresh database on the server (uniquely named, dropped at the end), migrates
it (indices of 0005_analytics_indexes included), seeds --days of history with
kefu.analytics.history (~275 conversations a day), then times kefu.analytics.dashboard
-- every panel of /desk/analytics -- for the 30-day and 365-day periods (best of
--repeat, after one warm-up). Baseline, measured in the same run on the same data: the
same dashboard after dropping the analytics indices (0005 and the tracker ones).
Target: < 1 s per page with the indices.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg2  # noqa: E402
from psycopg2 import sql  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from kefu import clock, db  # noqa: E402
from kefu.analytics import history, queries  # noqa: E402

INDICES = ["ix_tickets_created_at", "ix_tickets_resolved_at", "ix_ticket_events_kind_to_value",
           "ix_surveys_created_at", "ix_handoffs_created_at", "ix_events_type_timestamp",
           "ix_events_action_timestamp"]  # Rasa's own sender_id index stays


def admin(url: str):
    connection = psycopg2.connect(url, connect_timeout=5)
    connection.autocommit = True
    return connection


def vacuum(url: str) -> None:
    """What autovacuum does on a live server: statistics and the visibility map."""
    with db.get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def timed(url: str, period: str, repeat: int) -> float:
    query = queries.period_for(period)
    queries.dashboard(query, url, url)  # warm-up (plans, caches)
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        queries.dashboard(query, url, url)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default=os.environ.get("KEFU_TEST_PG_URL",
                                                              "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db-prefix", default="kefu_bench", help="name prefix of the scratch database")
    args = parser.parse_args()

    name = f"{args.db_prefix}_{uuid.uuid4().hex[:10]}"
    connection = admin(args.admin_url)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = str(make_url(args.admin_url).set(drivername="postgresql+psycopg2", database=name))
    try:
        started = time.perf_counter()
        db.migrate(url)
        figures = history.seed_history(args.days, url, url)
        vacuum(url)
        print(f"seeded {args.days} days in {time.perf_counter() - started:.1f} s: {figures}")
        now = clock.now()
        print(f"as of {now.isoformat(timespec='minutes')}; best of {args.repeat} after a warm-up")
        with_indices = {p: timed(url, p, args.repeat) for p in ("30d", "365d")}
        with db.get_engine(url).begin() as conn:
            for index in INDICES:
                conn.execute(text(f"DROP INDEX IF EXISTS {index}"))
        vacuum(url)
        baseline = {p: timed(url, p, args.repeat) for p in ("30d", "365d")}
        print(f"{'period':<8}{'with indices':>14}{'baseline (no analytics indices)':>34}")
        for period in ("30d", "365d"):
            print(f"{period:<8}{with_indices[period]:>12.3f} s{baseline[period]:>32.3f} s")
        verdict = "OK" if max(with_indices.values()) < 1.0 else "SLOWER THAN TARGET"
        print(f"target < 1 s per dashboard render: {verdict}")
    finally:
        db.dispose_engines()
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.close()


if __name__ == "__main__":
    main()
