"""kefu.clock: one clock, pinned per test, per process (env) or per running stack (file)."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from kefu import clock
from kefu.runtime.stack import base_env
from moments import MONDAY_03_BEIJING, MONDAY_10_BEIJING

ALLOWED = {clock.ALLOW_VAR: "1"}


def close_to(a: dt.datetime, b: dt.datetime, seconds: float = 5) -> bool:
    return abs((a - b).total_seconds()) < seconds


def test_unpinned_the_clock_is_the_wall_clock():
    assert not clock.is_fake()
    assert close_to(clock.now(), clock.wall_now(), 1) and clock.now().tzinfo is not None


def test_a_fake_time_is_refused_without_the_flag():
    with pytest.raises(clock.FakeClockRefused):
        clock.shift_from_environment({clock.NOW_VAR: "2026-12-07T10:00+08:00"})
    with pytest.raises(clock.FakeClockRefused):
        clock.shift_from_environment({clock.FILE_VAR: "/tmp/x.json"})
    with pytest.raises(clock.FakeClockRefused):
        base_env({clock.NOW_VAR: "2026-12-07T10:00+08:00", clock.ALLOW_VAR: ""})


def test_a_process_started_with_a_fake_time_without_the_flag_does_not_start():
    env = {k: v for k, v in os.environ.items() if k != clock.ALLOW_VAR}
    env[clock.NOW_VAR] = "2026-12-07T10:00+08:00"
    result = subprocess.run([sys.executable, "-c", "import kefu.clock"], env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "FakeClockRefused" in result.stderr


def test_a_fake_time_runs_on_from_its_anchor():
    anchor = clock.wall_now().timestamp() - 90  # the stack started 90 s ago
    shift = clock.shift_from_environment({**ALLOWED, clock.NOW_VAR: "2026-12-07T10:00+08:00",
                                          clock.ANCHOR_VAR: str(anchor)})
    assert close_to(shift.now(), MONDAY_10_BEIJING + dt.timedelta(seconds=90))


def test_a_fake_time_needs_an_offset():
    with pytest.raises(ValueError):
        clock.parse_moment("2026-12-07T10:00")


def test_the_stack_gives_every_child_one_anchor():
    env = base_env({**ALLOWED, clock.NOW_VAR: "2026-12-07T10:00+08:00"})
    assert close_to(dt.datetime.fromtimestamp(float(env[clock.ANCHOR_VAR]), dt.timezone.utc), clock.wall_now())


def test_a_clock_file_moves_a_running_process(tmp_path, monkeypatch):
    path = tmp_path / "now.json"
    monkeypatch.setenv(clock.ALLOW_VAR, "1")
    monkeypatch.setenv(clock.FILE_VAR, str(path))
    try:
        clock.configure()
        assert close_to(clock.now(), clock.wall_now(), 1)  # no file yet: the wall clock
        clock.write_fake_now(path, MONDAY_03_BEIJING)
        assert close_to(clock.now(), MONDAY_03_BEIJING)
        clock.write_fake_now(path, MONDAY_10_BEIJING)
        assert close_to(clock.now(), MONDAY_10_BEIJING) and clock.is_fake()
        clock.write_fake_now(path, None)
        assert close_to(clock.now(), clock.wall_now(), 1)
    finally:
        monkeypatch.delenv(clock.FILE_VAR)
        clock.configure()


def test_pins_set_advance_and_restore(pinned_clock):
    assert clock.now() == MONDAY_10_BEIJING
    pinned_clock.advance(hours=17)
    assert clock.now() == MONDAY_03_BEIJING + dt.timedelta(days=1)
    with clock.pin(MONDAY_03_BEIJING):
        assert clock.now() == MONDAY_03_BEIJING
    assert clock.now() == MONDAY_03_BEIJING + dt.timedelta(days=1)
    with pytest.raises(ValueError):
        pinned_clock.set(dt.datetime(2026, 12, 7, 10))  # naive


def test_rows_are_stamped_with_the_product_clock(clean_db, pinned_clock):
    from kefu import db
    from kefu.models import Customer

    with db.session_scope(clean_db) as session:
        customer = Customer(phone="13812345678", name="测试")
        session.add(customer)
        session.flush()
        assert customer.created_at == MONDAY_10_BEIJING


def test_now_in_is_the_time_another_process_sees(tmp_path):
    """Tests sign customer tokens at the stack's time: signed on the wall clock, a token was
    "issued in the future" for a stack pinned to a moment the wall clock had passed (the
    suite began failing at 02:00 UTC on 2026-12-07, Monday 10:00 in Beijing)."""
    path = tmp_path / "fake-now.json"
    clock.write_fake_now(path, MONDAY_03_BEIJING)
    env = {"KEFU_ALLOW_FAKE_CLOCK": "1", "KEFU_FAKE_NOW_FILE": str(path)}
    assert abs((clock.now_in(env) - MONDAY_03_BEIJING).total_seconds()) < 5
    clock.write_fake_now(path, None)  # an emptied file: the wall clock again
    assert abs((clock.now_in(env) - clock.wall_now()).total_seconds()) < 5
    assert abs((clock.now_in({}) - clock.wall_now()).total_seconds()) < 5
