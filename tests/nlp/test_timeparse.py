from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from kefu.nlp.config import load_settings
from kefu.nlp.timeparse import AppointmentWindow, clock_range_span, format_window, parse_appointment

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI)  # a Sunday


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


# now = Sunday 2026-11-22 10:00; the earliest bookable moment is 11:00 (1 h lead).
CASES = [
    ("明天下午", at(11, 23, 13), at(11, 23, 18)),
    ("周六上午十点", at(11, 28, 10), at(11, 28, 11)),
    ("今天晚上", at(11, 22, 18), at(11, 22, 20)),  # cut to the visit hours (8:00–20:00)
    ("后天", at(11, 24, 9), at(11, 24, 18)),
    ("大后天", at(11, 25, 9), at(11, 25, 18)),
    ("下周一上午", at(11, 23, 9), at(11, 23, 12)),
    ("这周末", at(11, 22, 11), at(11, 22, 18)),  # Saturday has passed; rest of Sunday
    ("下周末", at(11, 28, 9), at(11, 28, 18)),
    ("12月3号", at(12, 3, 9), at(12, 3, 18)),
    ("12月3日下午3点半", at(12, 3, 15, 30), at(12, 3, 16, 30)),
    ("十二月三号上午", at(12, 3, 9), at(12, 3, 12)),
    ("3号上午", at(12, 3, 9), at(12, 3, 12)),  # 11月3日 has passed: next month
    ("明早9点", at(11, 23, 9), at(11, 23, 10)),
    ("明晚", at(11, 23, 18), at(11, 23, 20)),
    ("中午", at(11, 22, 12), at(11, 22, 14)),
    ("今天上午", at(11, 22, 11), at(11, 22, 12)),  # what is left of the morning
    ("晚上7点以后", at(11, 22, 19), at(11, 22, 20)),
    ("晚上7点半", at(11, 22, 19, 30), at(11, 22, 20)),  # an exact time keeps its start, ends at 20:00
    ("中午12点", at(11, 22, 12), at(11, 22, 13)),
    ("星期天", at(11, 22, 11), at(11, 22, 18)),  # today, what is left of it
    ("礼拜六", at(11, 28, 9), at(11, 28, 18)),
    ("周日下午两点", at(11, 22, 14), at(11, 22, 15)),
    ("11.25", at(11, 25, 9), at(11, 25, 18)),
    ("12/3", at(12, 3, 9), at(12, 3, 18)),
    ("尽快", at(11, 22, 11), at(11, 22, 12)),
    ("越快越好", at(11, 22, 11), at(11, 22, 12)),
    ("随时都行", at(11, 22, 11), at(11, 22, 12)),
    ("明天越早越好", at(11, 23, 9), at(11, 23, 12)),
    ("下午3点到5点", at(11, 22, 15), at(11, 22, 17)),
    # A window whose start has no 点 of its own starts at its start, not at its end (chat probe:
    # "明天下午2-5点" was booked for 17:00).
    ("明天下午2-5点", at(11, 23, 14), at(11, 23, 17)),
    ("下午2点到5点", at(11, 22, 14), at(11, 22, 17)),
    ("明天下午2到5点", at(11, 23, 14), at(11, 23, 17)),
    ("明天下午2~5点", at(11, 23, 14), at(11, 23, 17)),
    ("明天下午两到五点", at(11, 23, 14), at(11, 23, 17)),
    ("明天下午2到下午5点", at(11, 23, 14), at(11, 23, 17)),
    ("上午9-11点", at(11, 23, 9), at(11, 23, 11)),  # today's has passed
    ("2点至4点", at(11, 22, 14), at(11, 22, 16)),
    ("明天2-4点", at(11, 23, 14), at(11, 23, 16)),
    ("明天9-11:30", at(11, 23, 9), at(11, 23, 11, 30)),
    ("晚上7-10点", at(11, 22, 19), at(11, 22, 20)),  # cut to the visit hours like 晚上7点以后
    # "两三点" is "2 or 3 o'clock", not 23:00; "十一二点" is 11–12 (it raised ValueError)
    ("明天下午两三点", at(11, 23, 14), at(11, 23, 15)),
    ("明天上午十一二点", at(11, 23, 11), at(11, 23, 12)),
    ("明天一两点", at(11, 23, 13), at(11, 23, 14)),
    ("3点", at(11, 22, 15), at(11, 22, 16)),  # bare small hours are afternoon hours
    ("三点一刻", at(11, 22, 15, 15), at(11, 22, 16, 15)),
    ("明天上午10:30", at(11, 23, 10, 30), at(11, 23, 11, 30)),
    ("１０点以前", at(11, 23, 9), at(11, 23, 10)),  # today's 10:00 is too soon
    ("中午1点", at(11, 22, 13), at(11, 22, 14)),
    ("下周三", at(11, 25, 9), at(11, 25, 18)),
    ("下下周一", at(11, 30, 9), at(11, 30, 18)),
    ("下个月5号", at(12, 5, 9), at(12, 5, 18)),
    ("31号", at(12, 31, 9), at(12, 31, 18)),  # November has no 31st
    ("2026年12月3日", at(12, 3, 9), at(12, 3, 18)),
    ("2026-12-05 下午", at(12, 5, 13), at(12, 5, 18)),
    ("那就明天下午吧，我在家", at(11, 23, 13), at(11, 23, 18)),
    ("明天不行，后天上午吧", at(11, 24, 9), at(11, 24, 12)),  # rejected clause ignored
    ("周六或者周日", at(11, 22, 11), at(11, 22, 18)),  # the last mention wins
    # a space ends a clause: only the negated one is dropped ("能改成明天上午吗 下午我不在家"
    # booked the afternoon; chat probe, 2026-12-08)
    ("能改成明天上午吗 下午我不在家", at(11, 23, 9), at(11, 23, 12)),
    ("下午不行 明天上午吧", at(11, 23, 9), at(11, 23, 12)),
    ("明天下午 不行 后天上午", at(11, 24, 9), at(11, 24, 12)),  # a bare "不行" takes back the clause before
    ("12 月 3 日 下午 3 点", at(12, 3, 15), at(12, 3, 16)),  # spaces inside a date or clock join
]


@pytest.mark.parametrize("text, start, end", CASES, ids=[c[0] for c in CASES])
def test_parse_appointment(text, start, end):
    window = parse_appointment(text, NOW)
    assert window is not None
    assert (window.start, window.end) == (start, end)
    assert window.start.tzinfo is not None and window.start.utcoffset() == dt.timedelta(hours=8)


@pytest.mark.parametrize(
    "text",
    ["", "你好", "这周六", "上周五", "11月3号", "二月三十号", "快一点", "明天不行", "今天早上",
     "2025年12月3日", "25点", "明年", "三二点", "明天下午 不行"],
)
def test_unparseable_or_past_gives_none(text):
    assert parse_appointment(text, NOW) is None


@pytest.mark.parametrize("text, night_start", [
    ("今晚八点以后", at(11, 22, 20)),
    ("晚上十点", at(11, 22, 22)),
    ("明天早上6点", at(11, 23, 6)),
    ("凌晨两点", at(11, 23, 2)),      # not 14:00
    ("半夜12点", at(11, 23, 0)),      # midnight, not noon
    ("晚上12点", at(11, 23, 0)),
    ("晚上8-10点", at(11, 22, 20)),
])
def test_times_outside_the_visit_hours_are_refused_but_understood(text, night_start):
    assert parse_appointment(text, NOW) is None
    assert parse_appointment(text, NOW, within_visit_hours=False).start == night_start


def test_a_window_keeps_the_customers_wording_as_its_label():
    assert parse_appointment("明天下午2-5点", NOW).label == "明天下午2-5点"


def test_a_number_before_a_range_sign_without_a_clock_is_no_window():
    window = parse_appointment("明天下午 3-4天前买的", NOW)  # "3-4天" is no clock time
    assert (window.start, window.end) == (at(11, 23, 13), at(11, 23, 18))


@pytest.mark.parametrize("text, piece, whole", [
    ("明天下午2-5点", "5点", "下午2-5点"),
    ("明天下午2-5点", "明天下午2", "明天下午2-5点"),
    ("明天下午2点到下午5点半吧", "明天下午2点", "明天下午2点到下午5点半"),
    ("下午两点 至 五点", "五点", "下午两点 至 五点"),
    ("明天下午5点", "明天下午5点", "明天下午5点"),          # no range: unchanged
    ("型号KFR-35GW 明天下午", "明天下午", "明天下午"),
])
def test_clock_range_span_widens_a_piece_over_its_range(text, piece, whole):
    start = text.index(piece)
    span = clock_range_span(text, start, start + len(piece))
    assert text[span[0]:span[1]] == whole


def test_asap_is_flagged_and_labelled():
    window = parse_appointment("师傅越快越好", NOW)
    assert window.asap and window.label == "尽快"
    plain = parse_appointment("明天下午", NOW)
    assert not plain.asap and plain.label == "明天下午"


def test_asap_late_in_the_day_moves_to_the_next_slot():
    evening = dt.datetime(2026, 11, 22, 17, 30, tzinfo=SHANGHAI)
    window = parse_appointment("尽快", evening)
    assert (window.start, window.end) == (at(11, 23, 9), at(11, 23, 12))


@pytest.mark.parametrize("text", ["越快越好 今天能来吗", "尽快 最好今天", "今天下午 越快越好"])
def test_asap_for_a_day_that_is_over_is_the_earliest_slot(text):
    """Asked at 23:50: "越快越好 今天能来吗" was "没能识别出具体时间" (chat probe, 2026-12-07)."""
    night = dt.datetime(2026, 11, 22, 23, 50, tzinfo=SHANGHAI)
    window = parse_appointment(text, night)
    assert window is not None and window.asap and window.label == "尽快"
    assert window.start == at(11, 23, 9)
    assert parse_appointment("今天下午", night) is None  # without "as soon as possible": still refused


def test_period_without_date_rolls_to_tomorrow_when_past():
    evening = dt.datetime(2026, 11, 22, 15, 0, tzinfo=SHANGHAI)
    window = parse_appointment("中午", evening)
    assert (window.start, window.end) == (at(11, 23, 12), at(11, 23, 14))


def test_naive_and_foreign_now_are_taken_in_shanghai_time():
    naive = parse_appointment("明天下午", NOW.replace(tzinfo=None))
    utc = parse_appointment("明天下午", NOW.astimezone(dt.timezone.utc))
    assert naive == utc == parse_appointment("明天下午", NOW)


def test_far_future_is_refused():
    assert parse_appointment("2027年3月1日", NOW) is None  # beyond max_days_ahead (60)
    assert parse_appointment("1月5号", NOW).start == at(1, 5, 9, year=2027)


def test_settings_change_the_service_day():
    settings = load_settings().appointment.copy(update={
        "service_day": (dt.time(8, 0), dt.time(20, 0)),
    })
    window = parse_appointment("后天", NOW, settings)
    assert (window.start.hour, window.end.hour) == (8, 20)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("明天下午", "11月23日（周一）下午 13:00–18:00"),
        ("周六上午十点", "11月28日（周六）上午 10:00–11:00"),
        ("后天", "11月24日（周二）全天 09:00–18:00"),
        ("晚上7点以后", "11月22日（周日）晚上 19:00–20:00"),
        ("星期天", "11月22日（周日）11:00–18:00"),
        ("明早", "11月23日（周一）早上 08:00–10:00"),
        ("尽快", "尽快安排，最早 11月22日（周日）上午 11:00–12:00"),
        ("明天下午2-5点", "11月23日（周一）下午 14:00–17:00"),
    ],
)
def test_format_window(text, expected):
    assert format_window(parse_appointment(text, NOW), now=NOW) == expected


def test_format_window_shows_another_year():
    window = AppointmentWindow(at(1, 5, 9, year=2027), at(1, 5, 18, year=2027), "1月5号")
    assert format_window(window, now=NOW) == "2027年1月5日（周二）全天 09:00–18:00"


@pytest.mark.parametrize("text", ["美的 1.5匹挂机", "1.5P挂机", "2.5 匹柜机", "12.5L", "1.5kw", "3.5寸"])
def test_a_size_with_a_dot_is_no_date(text):
    """"新买的 还没拆箱 美的 1.5匹挂机" booked the installation for 5 January (chat probe, 2026-12-07)."""
    assert parse_appointment(text, NOW, within_visit_hours=False) is None


def test_a_month_and_day_with_a_dot_is_still_a_date():
    assert parse_appointment("12.25", NOW).start == dt.datetime(2026, 12, 25, 9, 0, tzinfo=SHANGHAI)


def test_a_piece_in_a_rejecting_clause_is_told():
    from kefu.nlp.timeparse import in_negated_clause

    assert in_negated_clause("能改成明天上午吗 下午我不在家", "下午")
    assert not in_negated_clause("能改成明天上午吗 下午我不在家", "明天上午")
    assert not in_negated_clause("明天下午", "下午")
    assert not in_negated_clause("明天下午", "")
