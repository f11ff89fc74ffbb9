"""Supervision (kefu/runtime/supervise.py + Stack): a real supervisord restarting real processes."""
from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from kefu.runtime.config import ProgramPolicy, SupervisionConfig, runtime_config
from kefu.runtime.stack import Ports, Stack, base_env
from kefu.runtime.supervise import supervisord_conf

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]
CRASHER = [sys.executable, "-c", "import sys; sys.exit(3)"]


def _wait(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


@pytest.fixture
def stack(tmp_path, monkeypatch):
    policy = SupervisionConfig(programs={
        "sleeper": ProgramPolicy(start_seconds=1, start_retries=2, stop_seconds=5),
        "crasher": ProgramPolicy(start_seconds=1, start_retries=2, stop_seconds=5),
        "stubborn": ProgramPolicy(start_seconds=1, start_retries=2, stop_seconds=1),
    })
    config = runtime_config().copy(update={"supervision": policy})
    monkeypatch.setattr("kefu.runtime.stack.runtime_config", lambda: config)
    running = Stack(ports=Ports(rasa=1), env=base_env(), log_dir=tmp_path / "logs")
    yield running
    running.stop()
    assert not running.running()


def test_config_comes_from_runtime_yml(tmp_path):
    policy = runtime_config().supervision
    text = supervisord_conf({"rasa2": ["python", "-c", "print('100%')"]}, socket=tmp_path / "s.sock",
                            log_dir=tmp_path, cwd=tmp_path, policy=policy)
    assert f"startretries = {policy.programs['rasa'].start_retries}" in text  # extra instances share rasa's
    assert "autorestart = true" in text and "stopasgroup = true" in text
    assert "100%%" in text  # supervisord would otherwise try to expand it


def test_a_killed_process_is_restarted_while_the_others_keep_running(stack):
    stack.start("sleeper", SLEEPER)
    first = _wait(lambda: stack.info("sleeper")["statename"] == "RUNNING" and stack.pid("sleeper"))
    os.kill(first, signal.SIGKILL)
    second = _wait(lambda: stack.info("sleeper")["statename"] == "RUNNING" and stack.pid("sleeper") != first
                   and stack.pid("sleeper"))
    assert second != first
    log = (stack.log_dir / "supervisord.log").read_text()
    assert "exited: sleeper (terminated by SIGKILL; not expected)" in log  # the reason is logged


def test_a_crash_loop_backs_off_then_gives_up_and_the_others_keep_running(stack):
    stack.start("sleeper", SLEEPER)
    stack.start("crasher", CRASHER)
    _wait(lambda: stack.info("crasher")["statename"] == "FATAL", timeout=60)
    log = (stack.log_dir / "supervisord.log").read_text()
    assert log.count("spawned: 'crasher'") == 3  # first start + start_retries (2), with pauses between
    assert "gave up: crasher entered FATAL state, too many start retries too quickly" in log
    assert stack.info("sleeper")["statename"] == "RUNNING"
    with pytest.raises(RuntimeError, match="crasher is FATAL"):
        stack.wait_until_ready("crasher", "http://127.0.0.1:9/", timeout=5)


def test_run_reports_each_restart_and_ends_with_supervisord(stack, capsys):
    """`./kefu.sh run` keeps serving through a restart, prints it, and ends when supervisord does."""
    import threading

    from kefu.cli import watch

    stack.start("sleeper", SLEEPER)
    first = _wait(lambda: stack.info("sleeper")["statename"] == "RUNNING" and stack.pid("sleeper"))
    ended = []

    def run_watch():
        try:
            watch(stack, poll_seconds=0.2)
        except SystemExit as exit_:
            ended.append(exit_.code)

    thread = threading.Thread(target=run_watch)
    thread.start()
    time.sleep(0.5)
    os.kill(first, signal.SIGKILL)
    _wait(lambda: stack.info("sleeper")["statename"] == "RUNNING" and stack.pid("sleeper") != first)
    time.sleep(0.5)
    assert thread.is_alive()  # a dead child does not end the run
    stack.stop()
    thread.join(30)
    assert ended == [1]
    out = capsys.readouterr().out
    assert f"sleeper: running pid {first} -> " in out and "supervisord.log" in out
    assert "supervisord ended" in out


def test_stop_leaves_no_process_behind_even_one_that_ignores_sigterm(stack):
    stack.start("stubborn", [sys.executable, "-c",
                             "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
    pid = _wait(lambda: stack.info("stubborn")["statename"] == "RUNNING" and stack.pid("stubborn"))
    stack.stop()
    assert not stack.running()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_watch_ends_quietly_when_supervisord_answers_that_it_is_shutting_down(tmp_path):
    """supervisord answers Fault SHUTDOWN_STATE while it stops: the run ends, it does not crash."""
    import xmlrpc.client

    from kefu.cli import watch

    class ShuttingDown:
        log_dir = tmp_path
        polls = 0

        def running(self):
            self.polls += 1
            return self.polls < 3

        def rpc(self):
            class Proxy:
                def getAllProcessInfo(self):
                    raise xmlrpc.client.Fault(6, "SHUTDOWN_STATE")
            return Proxy()

    with pytest.raises(SystemExit) as exit_:
        watch(ShuttingDown(), poll_seconds=0.01)
    assert exit_.value.code == 1
