"""Dashboard figures against the hand-computed data set (tests/analytics/dataset.py), SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from dataset import BEIJING
from kefu.analytics import queries


def panels(small_data, period="7d", **filters):
    url, tracker = small_data
    return queries.dashboard(queries.period_for(period, **filters), url, tracker)


def rows(all_panels, panel_id):
    return queries.find_panel(all_panels, panel_id).rows


def test_period_picker(pinned_clock):
    week = queries.period_for("7d")
    assert (week.start, week.end, week.bucket) == (dt.datetime(2026, 12, 1, tzinfo=BEIJING),
                                                  dt.datetime(2026, 12, 8, tzinfo=BEIJING), "day")
    today = queries.period_for("today")
    assert (today.start, today.end, today.bucket) == (dt.datetime(2026, 12, 7, tzinfo=BEIJING),
                                                     dt.datetime(2026, 12, 8, tzinfo=BEIJING), "hour")
    custom = queries.period_for("custom", start=dt.date(2026, 12, 5), end=dt.date(2026, 12, 3))
    assert (custom.start, custom.end) == (dt.datetime(2026, 12, 3, tzinfo=BEIJING), dt.datetime(2026, 12, 6, tzinfo=BEIJING))
    assert queries.period_for("30d").start == dt.datetime(2026, 11, 8, tzinfo=BEIJING)


def test_bot_figures(small_data):
    p = panels(small_data)
    assert rows(p, "bot_summary") == [["会话数", 3], ["客户消息数", 8], ["转人工会话数", 1],
                                      ["自助解决率 %", 66.7], ["兜底率 %", 25.0]]
    assert rows(p, "top_intents") == [["inform", 2, 25.0], ["nlu_fallback", 2, 25.0], ["complain", 1, 12.5],
                                      ["greet", 1, 12.5], ["report_repair", 1, 12.5], ["stop_form", 1, 12.5]]
    assert rows(p, "not_understood") == [["积分能换什么", 2]]
    assert queries.find_panel(p, "not_understood").links[0] == (
        "/desk/review/?days=7&flag=fallback&all=1&q=%E7%A7%AF%E5%88%86%E8%83%BD%E6%8D%A2%E4%BB%80%E4%B9%88")
    confidence = rows(p, "intent_confidence")
    assert len(confidence) == 10 and confidence[3] == ["0.3–0.4", 2, 25.0] and confidence[9] == ["0.9–1.0", 6, 75.0]
    assert sum(r[1] for r in confidence) == 8
    assert rows(p, "forms") == [["complaint_form", 1, 0, 1, 0.0, "complaint_detail (1)"],
                                ["repair_form", 1, 1, 0, 100.0, ""]]
    series = rows(p, "conversation_series")
    assert [r[0] for r in series] == [f"2026-12-0{d}" for d in range(1, 8)]
    assert [r[1] for r in series] == [0, 0, 0, 0, 1, 1, 1]


def test_handoff_figures(small_data):
    p = panels(small_data)
    assert rows(p, "handoff_rules") == [["complaint_severe", 1, 33.3, 33.3], ["fallback_twice", 1, 33.3, 33.3],
                                        ["human_request", 1, 33.3, 33.3]]
    assert rows(p, "handoff_groups") == [
        ["合计", 3, 2.0, 6.0, 1, 33.3, 15.0, 0],
        ["投诉专席", 1, 6.0, 6.0, 0, 0.0, 20.0, 0],
        ["综合", 2, 2.0, 2.0, 1, 50.0, 10.0, 0],
    ]
    assert rows(p, "handoff_agents") == [["赵主管", 2, 2.0, 6.0, 0, 0.0, 15.0, 0]]
    assert [r[1] for r in rows(p, "handoff_series")] == [0, 0, 0, 0, 1, 1, 1]
    assert rows(p, "callbacks") == [["预约回拨", 0], ["已完成", 0], ["完成率 %", None]]


def test_ticket_and_sla_figures(small_data):
    p = panels(small_data)
    assert rows(p, "tickets_by_type") == [["报修", 1, 0, 2, 3], ["安装", 0, 0, 1, 1], ["投诉", 0, 1, 0, 1]]
    assert [r[1] for r in rows(p, "ticket_series")] == [1, 1, 0, 0, 1, 1, 1]
    assert rows(p, "sla") == [
        ["首次响应", 1, 1, 1, 1, 33.3],
        ["处理完成", 1, 1, 1, 1, 33.3],
        ["抢修 到场响应", 0, 1, 0, 0, 0.0],
        ["抢修 处理完成", 0, 1, 0, 0, 0.0],
    ]
    assert rows(p, "ticket_follow") == [["新建工单", 5], ["被催办工单", 2], ["催办次数", 3], ["每单平均催办", 0.6],
                                        ["重开工单", 1], ["重开率 %", 20.0]]
    assert rows(p, "backlog") == [["< 1 天", 1], ["1–3 天", 1], ["3–7 天", 0], ["> 7 天", 0]]


def test_satisfaction_and_complaints(small_data):
    p = panels(small_data)
    assert rows(p, "csat_summary") == [["回访份数", 2], ["平均分", 3.5], ["满意率 %", 50.0], ["已解决工单", 2],
                                       ["回访率 %", 100.0], ["低分（≤2）跟进中", 1], ["低分（≤2）已关闭", 0]]
    assert rows(p, "csat_scores") == [["5 分", 1, 50.0], ["4 分", 0, 0.0], ["3 分", 0, 0.0], ["2 分", 1, 50.0],
                                      ["1 分", 0, 0.0]]
    assert rows(p, "csat_by_type") == [["报修", 2, 3.5, 50.0]]
    assert rows(p, "csat_by_group") == [["抢修组", 1, 2.0, 0.0], ["维修调度组", 1, 5.0, 100.0]]
    assert rows(p, "csat_by_agent") == [["技师:李国强", 1, 2.0, 0.0], ["技师:王建军", 1, 5.0, 100.0]]
    assert rows(p, "complaints") == [["投诉工单", 1], ["投诉率 %", 20.0], ["重复投诉（30 天内同一客户）", 1],
                                     ["重复投诉客户数", 1], ["重复投诉占比 %", 100.0]]


def test_filters(small_data):
    p = panels(small_data, group="投诉处理组")
    assert rows(p, "tickets_by_type") == [["投诉", 0, 1, 0, 1]]
    assert rows(p, "handoff_groups")[0][1] == 0  # no handoff group of that name
    p = panels(small_data, channel="web")
    assert rows(p, "tickets_by_type") == [["报修", 0, 0, 2, 2], ["安装", 0, 0, 1, 1]]
    assert rows(p, "complaints")[0] == ["投诉工单", 0]
    p = panels(small_data, ticket_type="repair")
    assert rows(p, "csat_summary")[0] == ["回访份数", 2]
    assert rows(p, "sla")[0] == ["首次响应", 1, 1, 0, 0, 50.0]
    p = panels(small_data, group="综合")
    assert rows(p, "handoff_groups")[0][:2] == ["合计", 2]


def test_today_and_custom_periods(small_data):
    p = panels(small_data, "today")
    assert rows(p, "bot_summary")[0] == ["会话数", 1]
    assert len(rows(p, "ticket_series")) == 24 and rows(p, "ticket_series")[9] == ["12-07 09:00", 1]
    p = panels(small_data, "custom", start=dt.date(2026, 11, 20), end=dt.date(2026, 11, 22))
    assert rows(p, "complaints")[:3] == [["投诉工单", 1], ["投诉率 %", 100.0], ["重复投诉（30 天内同一客户）", 0]]
    assert rows(p, "csat_summary")[:2] == [["回访份数", 1], ["平均分", 1.0]]
    assert rows(p, "bot_summary")[0] == ["会话数", 1]


def test_csv_of_a_panel(small_data):
    panel = queries.find_panel(panels(small_data), "sla")
    text = queries.to_csv(panel)
    assert text.startswith("\ufeff时限,按时,超时完成,未完成已超时,未到期,达成率 %\r\n")
    assert "抢修 到场响应,0,1,0,0,0.0\r\n" in text
