"""Chinese appointment times (明天下午, 周六上午十点, 尽快) -> future datetime windows.

Why not ``jionlp.parse_time``: it is light (≈0.3 s, ≈50 MB) but resolves bare
weekdays and days of month into the past (周六 -> last Saturday, 3号 -> 11月3日),
reads 明早9点 as today, 3点 as 03:00 and 今晚 as the whole day, and fails on
11.25 and 尽快. Booking needs "the next such moment", so this module resolves a
small grammar itself: numerals via ``cn2an``, month arithmetic via ``dateutil``,
periods/service hours from ``config`` (``appointment:`` in nlp.yml).

Grammar (any order, whitespace ignored; the right-most mention of each part wins,
clauses with a negation such as 不行/没空 are ignored):
  date   今天/明天/后天/大后天 | [这/本/下/下下]周X (星期X, 礼拜X) | [这/下]周末 |
         [YYYY年]M月D日/号 | M.D, M/D | [下个月/本月]D号 | YYYY-MM-DD
  period 早上 上午 中午 下午 傍晚 晚上 (+ aliases)
  clock  H点[半/一刻/三刻/M分] | H:MM, optionally a range (3点到5点, 2-5点, 两三点:
         the window from its start to its end) or followed by 以后/之后/后 or 以前/之前/前
  asap   尽快, 越快越好, 随时都行 … -> the earliest service slot
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

import cn2an
from dateutil.relativedelta import relativedelta

from kefu import clock
from kefu.nlp.config import AppointmentSettings, load_settings
from kefu.nlp.normalize import to_halfwidth

WEEKDAY_NAMES = "一二三四五六日"


@dataclass(frozen=True)
class AppointmentWindow:
    """A requested visit window, timezone-aware. ``label`` is the customer's wording."""

    start: dt.datetime
    end: dt.datetime
    label: str
    asap: bool = False


# --- text preparation ---------------------------------------------------------------

_CN_NUM = "零〇一二两三四五六七八九十"
# What joins the two ends of a clock range: 3点到5点, 2-5点, 2~5点, 2点至4点.
_RANGE_SIGN = "(?:到|至|-|~|—|–)"
_NUM_BEFORE_UNIT = re.compile(f"[{_CN_NUM}]+(?=[月号日点时:分])")
_NUM_BEFORE_RANGE = re.compile(f"[{_CN_NUM}]+(?={_RANGE_SIGN}[{_CN_NUM}\\d]+[点时:])")  # 两到五点
_NUM_AFTER_CLOCK = re.compile(f"(?<=[点:])[{_CN_NUM}]+(?![刻{_CN_NUM}])")
# Two neighbouring hours said together: 两三点 (2 or 3 o'clock), 十一二点 (11 or 12).
_CN_DIGIT = {c: i for i, c in enumerate("零一二三四五六七八九十")} | {"两": 2}
_NEIGHBOUR_HOURS = re.compile(f"(?<![{_CN_NUM}\\d])(十?)([一二两三四五六七八九])([二两三四五六七八九十])(?=[点时])")
_CLAUSE_SPLIT = re.compile(r"[,，。!！?？;；、\s]+")
# Spaces inside a date or a clock ("12 月 12 日", "下午 3 点") are no clause ends.
_INNER_SPACE = re.compile(r"(?<=[\d年月日号点时分:])\s+|\s+(?=[\d年月日号点时分:])")
# What may stand beside a negation in a clause that only negates ("这个时间我不行啊").
_NEGATION_REST = re.compile(r"[啊呀吧哦的了呢嘛我都也就这个时间那个点候]")
_GAP = "|"  # stands where removed text was, so patterns never join across it


def _neighbour_hours(m: re.Match) -> str:
    tens = 10 if m.group(1) else 0
    first, second = tens + _CN_DIGIT[m.group(2)], tens + _CN_DIGIT[m.group(3)]
    return f"{first}到{second}" if second == first + 1 else m.group()


def _convert(m: re.Match) -> str:
    try:
        return str(cn2an.cn2an(m.group(), "smart"))
    except ValueError:  # no number cn2an knows ("三二"): left as it is, so no clock is read
        return m.group()


def _arabise(text: str) -> str:
    text = _NEIGHBOUR_HOURS.sub(_neighbour_hours, text)
    text = _NUM_BEFORE_RANGE.sub(_convert, _NUM_BEFORE_UNIT.sub(_convert, text))
    return _NUM_AFTER_CLOCK.sub(_convert, text)


def _prepare(text: str, cfg: AppointmentSettings) -> str:
    # a space ends a clause as a comma does: in "能改成明天上午吗 下午我不在家" only the second
    # clause is negated (it was dropped whole and the afternoon booked; chat probe, 2026-12-08)
    clauses: List[str] = []
    for clause in _clauses(text):
        for short in sorted(cfg.shorthands, key=len, reverse=True):
            clause = clause.replace(short, cfg.shorthands[short])
        if not any(n in clause for n in cfg.negations):
            clauses.append(clause)
        elif clauses and not _NEGATION_REST.sub("", _without(clause, cfg.negations)):
            clauses.pop()  # "下午 不行": a bare negation takes back the clause before it
    return _arabise(_A_BIT.sub(_GAP * 2, _GAP.join(c for c in clauses if c)))


def _clauses(text: str) -> List[str]:
    """``text`` cut at punctuation and spaces (not the spaces inside a date or clock)."""
    return _CLAUSE_SPLIT.split(_INNER_SPACE.sub("", to_halfwidth(text)))


def in_negated_clause(text: str, piece: str, settings: Optional[AppointmentSettings] = None) -> bool:
    """Whether ``piece`` of ``text`` stands only in clauses that reject a time ("下午我不在家")."""
    cfg = settings or load_settings().appointment
    clauses = [c for c in _clauses(text) if piece and piece in c]
    return bool(clauses) and all(any(n in c for n in cfg.negations) for c in clauses)


def _without(text: str, words: List[str]) -> str:
    for word in sorted(words, key=len, reverse=True):
        text = text.replace(word, "")
    return text


# --- parts of an expression ---------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    pos: int
    text: str


@dataclass(frozen=True)
class _Date(_Part):
    kind: str  # fixed | rel | weekday | weekend | month_day | day
    a: int = 0
    b: int = 0
    c: int = 0
    modifier: str = ""


@dataclass(frozen=True)
class _Clock(_Part):
    hour: int
    minute: int
    end: Optional[Tuple[int, int]] = None
    qualifier: str = ""  # after | before


_DATE_PATTERNS = [
    ("fixed", re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?")),
    ("month_day", re.compile(r"(\d{1,2})月(\d{1,2})[日号]?")),
    # 12.5 / 12/5, but not a size: "1.5匹" (it booked an air conditioner for 5 January; chat probe)
    ("month_day", re.compile(r"(?<![\d.:])(\d{1,2})[./](\d{1,2})(?![\d.:点]|\s*(?:匹|[pP](?![A-Za-z])|寸|英寸|升|[lL](?![A-Za-z])|米|公斤|斤|千克|[kK][gGwW]|度|倍|万|千|元|块|成|折|%))")),
    ("rel", re.compile(r"大后天|后天|明天|明日|今天|今日")),
    ("weekend", re.compile(r"(这|本|下下|下)?个?周末")),
    ("weekday", re.compile(r"(这|本|下下|下|上)?个?(?:周|星期|礼拜)([1-7一二三四五六日天])")),
    ("day", re.compile(r"(下个?月|本月|这个?月)?(\d{1,2})[号日]")),
]
_REL_DAYS = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
_WEEK_OFFSET = {None: None, "这": 0, "本": 0, "下": 7, "下下": 14, "上": -7}
_CLOCK = r"(\d{1,2})(?:[点时](?:(半)|([13一三])刻|(\d{1,2})分?)?|:(\d{2}))"
_CLOCK_RE = re.compile(_CLOCK)
_AFTER = ("以后", "之后", "后")
_BEFORE = ("以前", "之前", "前")
_QUALIFIER_RE = re.compile("|".join(_AFTER + _BEFORE))
_RANGE_RE = re.compile(rf"{_RANGE_SIGN}\|*{_CLOCK}")
# The start of a range said without its own 点: the "2" of 2-5点, 2到下午5点.
_BARE_RANGE_START = re.compile(rf"(?<![\d:.])(\d{{1,2}})(?={_RANGE_RE.pattern})")
# "快一点/早一点" mean "a bit sooner", not one o'clock.
_A_BIT = re.compile(r"(?<=[快早晚慢多少好有])一点")


def _blank(text: str, match: re.Match) -> str:
    return text[: match.start()] + _GAP * (match.end() - match.start()) + text[match.end() :]


def _rightmost(parts: List[_Part]) -> Optional[_Part]:
    return max(parts, key=lambda p: p.pos) if parts else None


def _find_dates(text: str) -> Tuple[Optional[_Date], str]:
    found: List[_Date] = []
    for kind, pattern in _DATE_PATTERNS:
        for m in list(pattern.finditer(text)):
            found.append(_date_part(kind, m))
            text = _blank(text, m)
    return _rightmost(found), text


def _date_part(kind: str, m: re.Match) -> _Date:
    g = m.groups()
    if kind == "fixed":
        return _Date(m.start(), m.group(), kind, int(g[0]), int(g[1]), int(g[2]))
    if kind == "month_day":
        return _Date(m.start(), m.group(), kind, int(g[0]), int(g[1]))
    if kind == "rel":
        return _Date(m.start(), m.group(), kind, _REL_DAYS[m.group()])
    if kind == "weekend":
        return _Date(m.start(), m.group(), kind, modifier=g[0] or "")
    if kind == "weekday":
        day = g[1]
        index = int(day) - 1 if day.isdigit() else WEEKDAY_NAMES.index("日" if day == "天" else day)
        return _Date(m.start(), m.group(), kind, index, modifier=g[0] or "")
    return _Date(m.start(), m.group(), kind, int(g[1]), modifier=(g[0] or "")[:1])


def _find_period(text: str, cfg: AppointmentSettings) -> Tuple[Optional[_Part], Optional[str], str]:
    names = {**{p: p for p in cfg.periods}, **cfg.period_aliases}
    pattern = re.compile("|".join(sorted(map(re.escape, names), key=len, reverse=True)))
    matches = list(pattern.finditer(text))
    for m in matches:
        text = _blank(text, m)
    part = _rightmost([_Part(m.start(), m.group()) for m in matches])
    return part, (names[part.text] if part else None), text


def _clock_value(groups: Tuple[Optional[str], ...]) -> Tuple[int, int]:
    hour, half, quarter, minute, colon_minute = groups
    if half:
        return int(hour), 30
    if quarter:
        return int(hour), 15 if quarter in "1一" else 45
    return int(hour), int(minute or colon_minute or 0)


def _find_clock(text: str) -> Optional[_Clock]:
    clocks: List[_Clock] = []
    pos = 0
    while True:
        found = [x for x in (_CLOCK_RE.search(text, pos), _BARE_RANGE_START.search(text, pos)) if x]
        if not found:
            break
        m = min(found, key=lambda x: x.start())
        hour, minute = (int(m.group(1)), 0) if m.re is _BARE_RANGE_START else _clock_value(m.groups())
        end, qualifier, stop = None, "", m.end()
        # A range: "3点到5点", "下午2点到下午4点" (a repeated period is already blanked).
        r = _RANGE_RE.match(text, stop)
        if r:
            end, stop = _clock_value(r.groups()), r.end()
        else:
            q = _QUALIFIER_RE.match(text, stop)
            if q:
                qualifier, stop = ("after" if q.group() in _AFTER else "before"), q.end()
        label = text[m.start() : stop].replace(_GAP, "")
        clocks.append(_Clock(m.start(), label, hour, minute, end, qualifier))
        pos = stop
    return _rightmost(clocks)  # type: ignore[return-value]


# --- resolution ----------------------------------------------------------------------


def _candidate_dates(date: Optional[_Date], today: dt.date, asap: bool) -> Iterator[dt.date]:
    if date is None:
        yield from (today + dt.timedelta(days=n) for n in range(14 if asap else 2))
        return
    monday = today - dt.timedelta(days=today.weekday())
    if date.kind == "fixed":
        yield from _valid_dates([(date.a, date.b, date.c)])
    elif date.kind == "rel":
        yield today + dt.timedelta(days=date.a)
    elif date.kind == "weekday":
        offset = _WEEK_OFFSET[date.modifier or None]
        if offset is None:  # bare 周六: the coming one (today if it is still possible)
            first = today + dt.timedelta(days=(date.a - today.weekday()) % 7)
            yield from (first, first + dt.timedelta(days=7))
        else:
            yield monday + dt.timedelta(days=offset + date.a)
    elif date.kind == "weekend":
        offset = _WEEK_OFFSET[date.modifier or None]
        weeks = (0, 7) if offset is None else (offset,)
        for week in weeks:
            yield from (monday + dt.timedelta(days=week + 5), monday + dt.timedelta(days=week + 6))
    elif date.kind == "month_day":
        yield from _valid_dates([(today.year, date.a, date.b), (today.year + 1, date.a, date.b)])
    else:  # day of month
        months = {"下": (1,), "本": (0,), "这": (0,), "": (0, 1, 2)}[date.modifier]
        firsts = [today.replace(day=1) + relativedelta(months=n) for n in months]
        yield from _valid_dates([(f.year, f.month, date.a) for f in firsts])


def _valid_dates(triples: List[Tuple[int, int, int]]) -> Iterator[dt.date]:
    for year, month, day in triples:
        try:
            yield dt.date(year, month, day)
        except ValueError:
            continue


def _resolve_hour(hour: int, period: Optional[str], cfg: AppointmentSettings) -> Optional[int]:
    if hour > 24:
        return None
    if period is None:
        return hour + 12 if 1 <= hour < cfg.pm_below_hour else hour
    lo, hi = (t.hour * 60 + t.minute for t in cfg.periods[period])

    def distance(h: int) -> int:
        x = h * 60
        return 0 if lo <= x <= hi else min(abs(x - lo), abs(x - hi))

    # "12点" is noon or midnight: 中午12点 is 12:00, 半夜12点 is 0:00, 晚上12点 is 24:00
    candidates = [hour, hour + 12] if hour < 12 else ([12, 0, 24] if hour == 12 else [hour])
    return min(candidates, key=distance)


def _at(day: dt.date, hour: int, minute: int, cfg: AppointmentSettings) -> Optional[dt.datetime]:
    if not (0 <= minute < 60) or hour > 24 or (hour == 24 and minute):
        return None
    return dt.datetime.combine(day, dt.time(0, tzinfo=cfg.timezone)) + dt.timedelta(hours=hour, minutes=minute)


def _times(
    day: dt.date, period: Optional[str], clock: Optional[_Clock], cfg: AppointmentSettings
) -> Optional[Tuple[dt.datetime, dt.datetime, bool]]:
    """(start, end, exact) of the window on ``day``; exact windows are never shortened."""
    span = cfg.periods[period] if period else cfg.service_day
    lo = dt.datetime.combine(day, span[0], tzinfo=cfg.timezone)
    hi = dt.datetime.combine(day, span[1], tzinfo=cfg.timezone)
    if clock is None:
        return lo, hi, False
    hour = _resolve_hour(clock.hour, period, cfg)
    start = _at(day, hour, clock.minute, cfg) if hour is not None else None
    if start is None:
        return None
    exact = dt.timedelta(minutes=cfg.exact_minutes)
    if clock.end:
        end_hour = clock.end[0]
        if period:
            end_hour = _resolve_hour(end_hour, period, cfg)
        end = _at(day, end_hour, clock.end[1], cfg) if end_hour is not None else None
        if end is not None and end <= start:
            end += dt.timedelta(hours=12)
        return (start, end, False) if end is not None and end > start else None
    if clock.qualifier == "after":
        return start, max(hi, start + exact), False
    if clock.qualifier == "before":
        return min(lo, start - exact), start, False
    return start, start + exact, True


def _within_visit_hours(
    window: Tuple[dt.datetime, dt.datetime, bool], cfg: AppointmentSettings
) -> Optional[Tuple[dt.datetime, dt.datetime, bool]]:
    """The window cut to the visit hours of its day, or None if nothing usable is left: an
    exact time must itself fall inside them ("晚上7点半" ends at 20:00, "晚上八点" is refused);
    a span keeps at least ``round_minutes`` of itself ("今晚七点以后" is 19:00–20:00)."""
    start, end, exact = window
    lo = dt.datetime.combine(start.date(), cfg.visit_hours[0], tzinfo=cfg.timezone)
    hi = dt.datetime.combine(start.date(), cfg.visit_hours[1], tzinfo=cfg.timezone)
    if exact:
        return (start, min(end, hi), True) if lo <= start < hi else None
    clipped = (max(start, lo), min(end, hi))
    if clipped[1] - clipped[0] < dt.timedelta(minutes=cfg.round_minutes):
        return None
    return clipped[0], clipped[1], False


def _fit(
    window: Tuple[dt.datetime, dt.datetime, bool], earliest: dt.datetime, cfg: AppointmentSettings
) -> Optional[Tuple[dt.datetime, dt.datetime]]:
    start, end, exact = window
    if exact:
        return (start, end) if start >= earliest else None
    clipped = max(start, earliest)
    needed = min(dt.timedelta(minutes=cfg.min_window_minutes), end - start)
    return (clipped, end) if end - clipped >= needed else None


def _earliest_slot(
    day: dt.date, earliest: dt.datetime, cfg: AppointmentSettings
) -> Optional[Tuple[dt.datetime, dt.datetime]]:
    for slot_start, slot_end in cfg.service_slots:
        window = (
            dt.datetime.combine(day, slot_start, tzinfo=cfg.timezone),
            dt.datetime.combine(day, slot_end, tzinfo=cfg.timezone),
            False,
        )
        fitted = _fit(window, earliest, cfg)
        if fitted:
            return fitted
    return None


def _ceil(moment: dt.datetime, minutes: int) -> dt.datetime:
    base = moment.replace(second=0, microsecond=0)
    if base < moment:
        base += dt.timedelta(minutes=1)
    remainder = (base.hour * 60 + base.minute) % minutes
    return base + dt.timedelta(minutes=(minutes - remainder) % minutes)


def parse_appointment(
    text: str, now: dt.datetime, settings: Optional[AppointmentSettings] = None,
    within_visit_hours: bool = True,
) -> Optional[AppointmentWindow]:
    """The visit window the customer asks for, or None if unparseable, past or (unless
    ``within_visit_hours`` is False) wholly outside the visit hours.

    ``now`` may be naive (taken as local service time) or aware. The result is in
    the configured timezone (Asia/Shanghai) and starts no earlier than now + lead.
    """
    cfg = settings or load_settings().appointment
    now = now.replace(tzinfo=cfg.timezone) if now.tzinfo is None else now.astimezone(cfg.timezone)
    prepared = _prepare(text, cfg)
    asap_re = re.compile("|".join(map(re.escape, cfg.asap_words)))
    asap = bool(asap_re.search(prepared))
    prepared = asap_re.sub(lambda m: _GAP * len(m.group()), prepared)

    date, rest = _find_dates(prepared)
    period_part, period, rest = _find_period(rest, cfg)
    clock = _find_clock(rest)
    if not (date or period or clock or asap):
        return None
    use_slot = asap and not (period or clock)
    parts = sorted((p for p in (date, period_part, clock) if p), key=lambda p: p.pos)
    label = "".join(p.text for p in parts) + ("尽快" if use_slot else "")

    today = now.date()
    earliest = _ceil(now + dt.timedelta(minutes=cfg.lead_minutes), cfg.round_minutes)
    last_day = today + dt.timedelta(days=cfg.max_days_ahead)
    for day in _candidate_dates(date, today, use_slot):
        if day < today or day > last_day:
            continue
        if use_slot:
            fitted = _earliest_slot(day, earliest, cfg)
        else:
            window = _times(day, period, clock, cfg)
            if window and within_visit_hours:
                window = _within_visit_hours(window, cfg)
            fitted = _fit(window, earliest, cfg) if window else None
        if fitted:
            return AppointmentWindow(fitted[0], fitted[1], label, asap=use_slot)
    if asap and (date or period or clock):
        # "越快越好 今天能来吗" late at night: nothing is left of the day named; "as soon as
        # possible" still has an answer, the earliest slot (was: "没能识别出具体时间")
        for day in _candidate_dates(None, today, True):
            fitted = _earliest_slot(day, earliest, cfg) if day <= last_day else None
            if fitted:
                return AppointmentWindow(fitted[0], fitted[1], "尽快", asap=True)
    return None


def names_a_day(text: str, settings: Optional[AppointmentSettings] = None) -> bool:
    """Whether ``text`` names a day ("周六", "后天上午", "12月15号"), not only a part of one ("上午下午都行")."""
    cfg = settings or load_settings().appointment
    return _find_dates(_prepare(text, cfg))[0] is not None


def _range_ends(cfg: AppointmentSettings) -> Tuple[re.Pattern, re.Pattern]:
    period = "|".join(sorted(map(re.escape, [*cfg.periods, *cfg.period_aliases]), key=len, reverse=True))
    number = rf"(?:\d{{1,2}}|[{_CN_NUM}]{{1,3}})"
    clock = rf"{number}(?:[点时](?:半|[13一三]刻|{number}分?)?|:\d{{2}})"
    before = re.compile(rf"(?:{period})?{number}(?:[点时](?:半|[13一三]刻|{number}分?)?|:\d{{2}})?\s*{_RANGE_SIGN}\s*$")
    after = re.compile(rf"\s*{_RANGE_SIGN}\s*(?:{period})?{clock}")
    return before, after


def clock_range_span(text: str, start: int, end: int, settings: Optional[AppointmentSettings] = None) -> Tuple[int, int]:
    """``text[start:end]`` (a time the NLU found in ``text``) widened over the other end of a
    clock range it is one end of: "5点" in "明天下午2-5点" -> "下午2-5点", "明天下午2点" in
    "明天下午2点到5点" -> the whole. A range cut in two was booked at its end (chat probe)."""
    before, after = _range_ends(settings or load_settings().appointment)
    left = before.search(text[:start])
    right = after.match(text, end)
    return (left.start() if left else start), (right.end() if right else end)


# --- display -------------------------------------------------------------------------


def visit_hours_text(settings: Optional[AppointmentSettings] = None) -> dict:
    """The visit hours as the responses show them: {"visit_open": "8:00", "visit_close": "20:00"}."""
    cfg = settings or load_settings().appointment
    return {"visit_open": f"{cfg.visit_hours[0].hour}:{cfg.visit_hours[0].minute:02d}",
            "visit_close": f"{cfg.visit_hours[1].hour}:{cfg.visit_hours[1].minute:02d}"}


# Display buckets for windows that are not exactly a configured period.
_BUCKETS = (("上午", 0, 12), ("中午", 12, 14), ("下午", 12, 18), ("晚上", 18, 24))


def _period_name(start: dt.datetime, end: dt.datetime, cfg: AppointmentSettings) -> str:
    span = (start.time(), end.time())
    if span == cfg.service_day:
        return "全天"
    for name, window in cfg.periods.items():
        if span == window:
            return name
    end_hour = end.hour + end.minute / 60 if end.date() == start.date() else 24
    for name, lo, hi in _BUCKETS:
        if lo <= start.hour and end_hour <= hi:
            return name
    return ""  # spans several periods: the clock times say it all


def format_window(
    window: AppointmentWindow,
    settings: Optional[AppointmentSettings] = None,
    now: Optional[dt.datetime] = None,
) -> str:
    """Natural Chinese, e.g. ``11月23日（周一）下午 13:00–18:00``.

    The year is shown only when it differs from the year of ``now`` (default: today).
    """
    cfg = settings or load_settings().appointment
    start, end = window.start.astimezone(cfg.timezone), window.end.astimezone(cfg.timezone)
    this_year = (now or clock.now()).astimezone(cfg.timezone).year
    year = f"{start.year}年" if start.year != this_year else ""
    name = _period_name(start, end, cfg)
    text = (
        f"{year}{start.month}月{start.day}日（周{WEEKDAY_NAMES[start.weekday()]}）"
        f"{name + ' ' if name else ''}{start:%H:%M}–{end:%H:%M}"
    )
    return f"尽快安排，最早 {text}" if window.asap else text
