from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from kefu.nlp.config import load_settings


def test_defaults_load():
    settings = load_settings()
    assert settings.appointment.service_day == (dt.time(9), dt.time(18))
    assert settings.appointment.periods["下午"] == (dt.time(13), dt.time(18))
    assert "报修" in settings.jieba.service_words["v"]


def test_operator_file_overrides_part_of_the_defaults(tmp_path, monkeypatch):
    (tmp_path / "nlp.yml").write_text(
        'appointment:\n  service_day: ["08:00", "20:00"]\n  periods: {上午: ["08:30", "12:00"]}\n', "utf-8"
    )
    monkeypatch.setenv("KEFU_CONFIG_DIR", str(tmp_path))
    appointment = load_settings().appointment
    assert appointment.service_day == (dt.time(8), dt.time(20))
    assert appointment.periods["上午"] == (dt.time(8, 30), dt.time(12))
    assert appointment.periods["下午"] == (dt.time(13), dt.time(18))  # merged, not replaced
    assert appointment.lead_minutes == 60


@pytest.mark.parametrize(
    "override",
    [
        'appointment:\n  service_day: ["18:00", "09:00"]\n',  # ends before it starts
        "appointment:\n  period_aliases: {半夜: 深夜}\n",  # alias to an unknown period
        "appointment:\n  timezone: Mars/Olympus\n",
        'jieba:\n  service_words: {n: ["人工 客服"]}\n',  # jieba words cannot hold spaces
        "appointment:\n  surprise: 1\n",
    ],
)
def test_invalid_operator_file_is_rejected(tmp_path, override):
    path = tmp_path / "nlp.yml"
    path.write_text(override, "utf-8")
    with pytest.raises((ValidationError, ValueError)):
        load_settings(path)
