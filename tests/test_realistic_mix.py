"""benchmarks/realistic_mix.py: a wrong or error reply counts as an error, not as a fast answer."""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import realistic_mix as mix  # noqa: E402
from widget_load import RESEND_MARKER, SILENT_MARKER  # noqa: E402


def test_each_turn_needs_its_proper_reply():
    turn = mix.Turn("明天下午", mix.TICKET_NO.pattern, reject=("手机号",))
    assert mix.check(turn, [{"text": "已为您登记，工单号 BX20261206-0001。"}]) == ""
    assert mix.check(turn, []) == "no reply"
    assert mix.check(turn, [{"text": ""}]) == "no reply"
    assert "error reply" in mix.check(turn, [{"text": RESEND_MARKER}])
    assert "error reply" in mix.check(mix.Turn("谢谢"), [{"text": SILENT_MARKER}])
    assert "wrong reply" in mix.check(turn, [{"text": "请问您的预约时间？"}])
    assert "wrong reply" in mix.check(turn, [{"text": "工单号 BX20261206-0001，请再确认手机号"}])
    assert mix.check(mix.Turn("谢谢"), [{"custom": {"card": 1}}]) == ""


def test_ticket_queries_use_tickets_made_in_the_run():
    rng, pool = random.Random(1), mix.Pool()
    kinds = set()
    for _ in range(60):
        kind, turns, observe = mix.kefu_scenario(rng, pool)
        kinds.add(kind)
        assert kind != "ticket_query" or pool.tickets
        if kind == "repair":
            before = len(pool.tickets)
            observe(len(turns) - 2, "工单号 XX20261206-0001")  # not the last turn: not a ticket of this form
            assert len(pool.tickets) == before
            observe(len(turns) - 1, "已提交，工单号 BX20261206-0042")
            assert pool.tickets[-1][0] == "BX20261206-0042"
            assert pool.tickets[-1][1] == turns[4].text  # the phone given in the form
    assert kinds == {"faq", "courtesy", "repair", "ticket_query", "complaint"}


def test_faq_markers_are_in_every_variant_of_the_answer():
    """The bot picks one of several texts per FAQ: the benchmark's marker must be in all."""
    responses = yaml.safe_load((ROOT / "data" / "faq_responses.yml").read_text(encoding="utf-8"))["responses"]
    names = {
        "保修期是多久": "utter_faq/warranty_period",
        "上门费怎么收": "utter_faq/home_visit_fee",
        "你们客服几点上班": "utter_faq/service_hours",
    }
    assert set(names) == {question for question, _ in mix.FAQS}
    for question, marker in mix.FAQS:
        variants = [v["text"] for v in responses[names[question]]]
        assert variants and all(re.search(marker, text) for text in variants), question


def test_postgres_redis_stores_get_a_database_of_their_own_that_is_dropped_after_the_run(monkeypatch):
    """--stores postgres-redis: a fresh database per run (never the shared `test` database itself)."""
    import psycopg2
    from sqlalchemy.engine import make_url

    from kefu import db

    import os

    monkeypatch.setattr(mix, "PG_ADMIN_URL", os.environ.get("KEFU_TEST_PG_URL", mix.PG_ADMIN_URL))  # the suite's server
    url = mix.create_pg_database()
    name = make_url(url).database
    try:
        assert name.startswith("kefu_bench_") and name != make_url(mix.PG_ADMIN_URL).database
        db.migrate(url)  # what start_own_stack does with it
    finally:
        mix.drop_pg_database(url)
    connection = psycopg2.connect(mix.PG_ADMIN_URL, connect_timeout=5)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,))
            assert cursor.fetchone()[0] == 0
    finally:
        connection.close()
