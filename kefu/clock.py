"""The product's one clock: every decision that depends on the time reads ``now()``.

Agent hours, SLA due times, call-back windows, presence, ticket numbers, date
parsing, token expiry and row timestamps all go through here, so that a test or a
demo can move the whole product to another moment. This module is the only place
that reads the wall clock (``tests/test_clock_guard.py`` checks it).

Ways to pin the clock, all refused unless ``KEFU_ALLOW_FAKE_CLOCK=1`` (so that a stray
environment variable cannot move production's clock):

- ``KEFU_FAKE_NOW=2026-12-07T10:00+08:00``: the process starts at that moment and time
  runs on from there. ``KEFU_FAKE_NOW_ANCHOR`` (a Unix time) says when the fake moment
  was "now"; the stack launcher sets it once, so Rasa, the action server and the desk
  share one fake time.
- ``KEFU_FAKE_NOW_FILE=path``: the file holds ``{"now": ISO time, "anchor": Unix time}``
  (see ``write_fake_now``) and is re-read when it changes, so a test can move a running
  stack between agent hours and night. An absent or empty file means the wall clock
  (still subject to the flag).
- In-process (tests): ``pin(moment)`` returns a handle with ``set``/``advance``; it is a
  context manager that restores the previous clock.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Tuple, Union

UTC = dt.timezone.utc

ALLOW_VAR = "KEFU_ALLOW_FAKE_CLOCK"
NOW_VAR = "KEFU_FAKE_NOW"
ANCHOR_VAR = "KEFU_FAKE_NOW_ANCHOR"
FILE_VAR = "KEFU_FAKE_NOW_FILE"


class FakeClockRefused(RuntimeError):
    """A fake clock was asked for without the test/dev flag."""


def wall_now() -> dt.datetime:
    """The real time (UTC). Only the clock itself and its callers' anchors use it."""
    return dt.datetime.now(UTC)


def parse_moment(text: str) -> dt.datetime:
    """An ISO 8601 time with an offset, e.g. ``2026-12-07T10:00+08:00`` (naive is refused)."""
    moment = dt.datetime.fromisoformat(str(text).strip())
    if moment.tzinfo is None:
        raise ValueError(f"{text!r}: a fake time needs an offset, e.g. 2026-12-07T10:00+08:00")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Shift:
    """``fake`` was the time when the wall clock showed ``anchor``; ``frozen`` stops it there."""

    fake: dt.datetime
    anchor: float
    frozen: bool = False

    def now(self) -> dt.datetime:
        if self.frozen:
            return self.fake
        return self.fake + dt.timedelta(seconds=wall_now().timestamp() - self.anchor)


def _allowed(env: Mapping[str, str]) -> bool:
    return env.get(ALLOW_VAR, "").strip().lower() in ("1", "true", "yes")


def shift_from_environment(env: Mapping[str, str]) -> Optional[Shift]:
    """The shift KEFU_FAKE_NOW asks for, or None; FakeClockRefused without the flag."""
    if not env.get(NOW_VAR) and not env.get(FILE_VAR):
        return None
    if not _allowed(env):
        raise FakeClockRefused(
            f"{NOW_VAR}/{FILE_VAR} is set but {ALLOW_VAR}=1 is not: refusing to run on a fake clock"
        )
    if not env.get(NOW_VAR):
        return None
    anchor = float(env[ANCHOR_VAR]) if env.get(ANCHOR_VAR) else wall_now().timestamp()
    return Shift(parse_moment(env[NOW_VAR]), anchor)


def write_fake_now(path: Union[str, Path], moment: Optional[dt.datetime]) -> None:
    """Move every process that reads ``path`` (KEFU_FAKE_NOW_FILE) to ``moment``; None: wall clock."""
    path = Path(path)
    content = "" if moment is None else json.dumps(
        {"now": moment.isoformat(), "anchor": wall_now().timestamp()})
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, path)  # atomic: a reader never sees half a file


class _FileShift:
    """KEFU_FAKE_NOW_FILE, re-read whenever its modification stamp changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: Tuple[int, int] = (-1, -1)
        self._shift: Optional[Shift] = None
        self._lock = threading.Lock()

    def current(self) -> Optional[Shift]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._seen:
                text = self.path.read_text(encoding="utf-8").strip()
                if text:
                    data = json.loads(text)
                    self._shift = Shift(parse_moment(data["now"]), float(data["anchor"]))
                else:
                    self._shift = None
                self._seen = stamp
            return self._shift


class Pin:
    """An in-process pinned clock (tests): frozen at a moment until set or advanced."""

    def __init__(self, moment: dt.datetime, frozen: bool = True) -> None:
        self.frozen = frozen
        self.set(moment)

    def set(self, moment: dt.datetime) -> "Pin":
        if moment.tzinfo is None:
            raise ValueError("pin an aware datetime")
        self.shift = Shift(moment.astimezone(UTC), wall_now().timestamp(), self.frozen)
        return self

    def advance(self, **delta: float) -> "Pin":
        return self.set(self.shift.now() + dt.timedelta(**delta))

    def now(self) -> dt.datetime:
        return self.shift.now()

    def __enter__(self) -> "Pin":
        return self

    def __exit__(self, *exc: object) -> None:
        unpin(self)


_env_shift: Optional[Shift] = None
_file_shift: Optional[_FileShift] = None
_pins: list[Pin] = []


def configure(env: Mapping[str, str] = os.environ) -> None:
    """(Re)read the fake-clock settings; raises FakeClockRefused without the flag."""
    global _env_shift, _file_shift
    _env_shift = shift_from_environment(env)
    _file_shift = _FileShift(Path(env[FILE_VAR])) if env.get(FILE_VAR) else None


def now() -> dt.datetime:
    """The product's current time, aware, in UTC."""
    if _pins:
        return _pins[-1].now()
    if _file_shift is not None:
        shift = _file_shift.current()
        if shift is not None:
            return shift.now()
    if _env_shift is not None:
        return _env_shift.now()
    return wall_now()


def now_in(env: Mapping[str, str]) -> dt.datetime:
    """The time a process started with ``env`` sees (its fake-now file, KEFU_FAKE_NOW, or the
    wall clock): what a test signs a token with, so that the process it runs accepts it."""
    if env.get(FILE_VAR):
        shift = _FileShift(Path(env[FILE_VAR])).current()
        if shift is not None:
            return shift.now()
    env_shift = shift_from_environment(env)
    return env_shift.now() if env_shift is not None else wall_now()


def local_now(tz: dt.tzinfo) -> dt.datetime:
    """``now()`` in a time zone (the service centre's, for wording and date parsing)."""
    return now().astimezone(tz)


def is_fake() -> bool:
    return bool(_pins) or _env_shift is not None or (_file_shift is not None and _file_shift.current() is not None)


def pin(moment: dt.datetime, *, frozen: bool = True) -> Pin:
    """Pin this process's clock (tests); undo with ``unpin`` or by leaving the ``with`` block."""
    handle = Pin(moment, frozen)
    _pins.append(handle)
    return handle


def unpin(handle: Optional[Pin] = None) -> None:
    if handle is None:
        _pins.clear()
    elif handle in _pins:
        _pins.remove(handle)


configure()
