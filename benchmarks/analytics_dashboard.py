"""Analytics dashboard render time on a year of history, PostgreSQL and SQLite.

    python benchmarks/analytics_dashboard.py [--admin-url postgresql://postgres@127.0.0.1:5432/test]
                                             [--days 365] [--repeat 3] [--backends postgresql,sqlite]
                                             [--db-prefix kefu_bench]
    python benchmarks/analytics_dashboard.py --existing postgresql+psycopg2://.../kefu   (cold/warm only)

Per backend: a scratch database (PostgreSQL: a uniquely named database on the server,
dropped at the end; SQLite: kefu.db and tracker.db in a temporary directory), migrated,
seeded with --days of history by kefu.analytics.history (~275 conversations a day), the
tracker's per-day rollups built as ``./kefu.sh seed --history`` does, VACUUM ANALYZE /
ANALYZE. Then kefu.analytics.dashboard -- every panel of /desk/analytics -- for the
30-day and 365-day periods:

- cold: the first render in a fresh Python process (new connections, no plan or
  statement cache; the database's own page cache is as the seeding left it);
- warm: best of --repeat renders in this process after one warm-up;
- CPU/warm: CPU seconds of a warm render, this process plus the PostgreSQL backends
  (read from /proc: the server must be on this host) -- what the render costs whatever
  else the machine is doing (wall times on a busy shared machine are several times higher);
- baseline (same run, same data): the first render when no day has been rolled up yet
  (what reading the raw tracker costs: that render rolls up every day of the period
  itself, once; a running desk then only rolls up the day that just ended).

Target: cold and warm < 1 s per page on PostgreSQL.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
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
from kefu.analytics import history, queries, rollup  # noqa: E402

PERIODS = ("30d", "365d")


def admin(url: str):
    connection = psycopg2.connect(url, connect_timeout=5)
    connection.autocommit = True
    return connection


def analyse(url: str) -> None:
    """What autovacuum does on a live server: statistics and the visibility map."""
    with db.get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"))


def render(url: str, tracker: str, period: str) -> float:
    started = time.perf_counter()
    queries.dashboard(queries.period_for(period), url, tracker)
    return time.perf_counter() - started


def cold(url: str, tracker: str, period: str) -> float:
    """One render in a new interpreter (imports excluded from the figure)."""
    out = subprocess.run([sys.executable, __file__, "--render", url, tracker, period], cwd=ROOT, check=True,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    return float(out.strip().splitlines()[-1])


def warm(url: str, tracker: str, period: str, repeat: int) -> float:
    render(url, tracker, period)
    return min(render(url, tracker, period) for _ in range(repeat))


def _server_cpu(url: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving ``url``'s database (same host, /proc)."""
    if make_url(url).get_backend_name() != "postgresql":
        return 0.0
    with db.get_engine(url).connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars().all()
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def cpu(url: str, tracker: str, period: str, repeat: int) -> float:
    """CPU seconds of one warm render, this process plus the database server (the load-independent cost)."""
    render(url, tracker, period)
    best = float("inf")
    for _ in range(repeat):
        server, mine = _server_cpu(url), time.process_time()
        render(url, tracker, period)
        best = min(best, time.process_time() - mine + _server_cpu(url) - server)
    return best


def measure_existing(url: str, tracker: str, repeat: int) -> None:
    """Cold and warm renders on a database seeded before (e.g. ``./kefu.sh seed --history 365``)."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"[{make_url(url).get_backend_name()}] existing database; load average {load} on {os.cpu_count()} CPUs")
    for p in PERIODS:
        print(f"[existing] {p:<8}cold {cold(url, tracker, p):.3f} s  warm {warm(url, tracker, p, repeat):.3f} s"
              f"  CPU per warm render {cpu(url, tracker, p, repeat):.3f} s")


def measure(backend: str, url: str, tracker: str, days: int, repeat: int, baseline_periods) -> None:
    started = time.perf_counter()
    db.migrate(url)
    figures = history.seed_history(days, url, tracker, rollups=False)
    seeded = time.perf_counter() - started
    started = time.perf_counter()
    end = clock.now()
    built = history.roll_up(url, tracker, end - dt.timedelta(days=days), end)
    rolled = time.perf_counter() - started
    analyse(url)
    if tracker != url:
        analyse(tracker)
    print(f"[{backend}] seeded {days} days in {seeded:.1f} s: {figures}")
    print(f"[{backend}] rolled up {built} days in {rolled:.1f} s (./kefu.sh seed --history does this too)")
    results = {p: (cold(url, tracker, p), warm(url, tracker, p, repeat)) for p in PERIODS}
    cpus = {p: cpu(url, tracker, p, repeat) for p in PERIODS}
    baseline = {}
    for p in baseline_periods:
        rollup.forget_days(url, dt.date(1970, 1, 1), dt.date(2100, 1, 1))
        db.dispose_engines()
        baseline[p] = render(url, tracker, p)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"[{backend}] as of {end.isoformat(timespec='minutes')}; warm = best of {repeat} after a warm-up; "
          f"load average {load} on {os.cpu_count()} CPUs")
    print(f"[{backend}] {'period':<8}{'cold':>9}{'warm':>9}{'CPU/warm':>10}{'baseline (no rollups yet)':>28}")
    for p in PERIODS:
        base = f"{baseline[p]:>26.3f} s" if p in baseline else f"{'(not measured)':>28}"
        print(f"[{backend}] {p:<8}{results[p][0]:>7.3f} s{results[p][1]:>7.3f} s{cpus[p]:>8.3f} s{base}")
    worst = max(max(v) for v in results.values())
    print(f"[{backend}] target < 1 s per dashboard render: {'OK' if worst < 1.0 else 'SLOWER THAN TARGET'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default=os.environ.get("KEFU_TEST_PG_URL",
                                                              "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--baseline", default="30d,365d",
                        help="periods to time without rollups (SQLite rolls a year up in minutes)")
    parser.add_argument("--db-prefix", default="kefu_bench", help="name prefix of the scratch PostgreSQL database")
    parser.add_argument("--existing", metavar="URL", help="time an already seeded database instead (no seeding)")
    args = parser.parse_args()
    if args.existing:
        measure_existing(args.existing, queries.tracker_url(args.existing), args.repeat)
        return
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    baseline = [p for p in args.baseline.split(",") if p in PERIODS]

    if "postgresql" in backends:
        name = f"{args.db_prefix}_{uuid.uuid4().hex[:10]}"
        connection = admin(args.admin_url)
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = str(make_url(args.admin_url).set(drivername="postgresql+psycopg2", database=name))
        try:
            measure("postgresql", url, url, args.days, args.repeat, baseline)
        finally:
            db.dispose_engines()
            with connection.cursor() as cursor:
                cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            connection.close()
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory(prefix="kefu-bench-") as tmp:
            measure("sqlite", f"sqlite:///{tmp}/kefu.db", f"sqlite:///{tmp}/tracker.db", args.days, args.repeat,
                    baseline)
            db.dispose_engines()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--render":
        print(f"{render(*sys.argv[2:5]):.6f}")
    else:
        main()
