"""/desk/analytics: supervisors only; figures and CSV export from the hand-computed data set."""

from __future__ import annotations

import csv
import io

import pytest
from starlette.testclient import TestClient

from dataset import PASSWORD
from desk.app import create_app
from kefu.rasa_http import RasaClient
from desk_support import login


@pytest.fixture
def app(small_data):
    url, tracker = small_data
    rasa = RasaClient(base_url="http://127.0.0.1:9", token="unused", timeout=1)
    application = create_app(db_url=url, rasa=rasa, session_secret="analytics-test-secret")
    yield application
    rasa.close()


@pytest.fixture
def client_as(app):
    clients = []

    def make(username):
        client = TestClient(app)
        clients.append(client)
        assert login(client, username, PASSWORD).status_code == 303
        return client

    yield make
    for client in clients:
        client.close()


def test_supervisor_sees_the_figures(client_as):
    page = client_as("boss").get("/desk/analytics/?period=7d")
    assert page.status_code == 200
    html = page.text
    assert "数据分析" in html and 'id="panel-sla"' in html and 'id="panel-forms"' in html
    assert "vendor/echarts.min.js" in html and "cdn" not in html.lower()
    assert ('<a href="/desk/review/?days=7&amp;flag=fallback&amp;all=1&amp;q=%E7%A7%AF%E5%88%86%E8%83%BD%E6%8D%A2'
            '%E4%BB%80%E4%B9%88"') in html  # not-understood -> trainer review
    assert "<td>抢修 到场响应</td><td class=num>0</td><td class=num>1</td><td class=num>0</td><td class=num>0</td><td class=num>0.0</td>" in html
    assert "2026-12-01 至 2026-12-07，按天统计" in html


def test_filters_and_period_in_the_query(client_as):
    client = client_as("boss")
    html = client.get("/desk/analytics/?period=custom&start=2026-11-20&end=2026-11-22").text
    assert "2026-11-20 至 2026-11-22" in html
    html = client.get("/desk/analytics/?period=7d&group=投诉处理组&type=bogus").text
    assert '<option value="投诉处理组" selected>' in html
    assert "<td>投诉</td>" in html and "<td>报修</td>" not in html


@pytest.mark.parametrize("username", ["zhang", "tina"])
def test_agents_and_trainers_are_refused(client_as, username):
    client = client_as(username)
    assert client.get("/desk/analytics/").status_code == 403
    assert client.get("/desk/analytics/csv/sla").status_code == 403


def test_anonymous_is_sent_to_login(app):
    with TestClient(app) as client:
        response = client.get("/desk/analytics/?period=30d", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("http://testserver/desk/login?next=")
        assert client.get("/desk/analytics/csv/sla", follow_redirects=False).status_code == 303


def test_csv_export(client_as):
    client = client_as("boss")
    response = client.get("/desk/analytics/csv/handoff_groups?period=7d")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="kefu-handoff_groups-7d-2026-12-01.csv"' in response.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table == [
        ["分组", "转人工数", "排队 p50 分钟", "排队 p90 分钟", "等待中放弃", "放弃率 %", "平均处理分钟", "转回拨"],
        ["合计", "3", "2.0", "6.0", "1", "33.3", "15.0", "0"],
        ["投诉专席", "1", "6.0", "6.0", "0", "0.0", "20.0", "0"],
        ["综合", "2", "2.0", "2.0", "1", "50.0", "10.0", "0"],
    ]
    empty = client.get("/desk/analytics/csv/callbacks?period=today").content.decode("utf-8-sig")
    assert empty.splitlines() == ["指标,数值", "预约回拨,0", "已完成,0", "完成率 %,"]
    assert client.get("/desk/analytics/csv/nope").status_code == 404
