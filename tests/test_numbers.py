"""kefu/numbers.py is the one home of ticket/order/phone formats; data/regex.yml follows it."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
import yaml

from kefu import numbers, settings
from kefu.errors import InvalidTicketNo
from kefu.nlp import normalize
from kefu.nlp.regex_yml import REGEX_FILE, model_prefix_order, render
from kefu.services import numbering

ROOT = Path(__file__).resolve().parents[1]


def _nlu_patterns(text: str) -> dict[str, str]:
    return {e["regex"]: e["examples"].strip()[2:] for e in yaml.safe_load(text)["nlu"]}


def test_regex_yml_is_generated_from_numbers_and_catalogue():
    assert REGEX_FILE.read_text(encoding="utf-8") == render(), (
        "data/regex.yml is stale: run `python scripts/generate_regex.py` (then retrain)"
    )


def test_nlu_patterns_match_the_canonical_numbers():
    patterns = {name: re.compile(p, re.IGNORECASE) for name, p in _nlu_patterns(render()).items()}
    for prefix in numbers.ticket_prefixes():
        ticket = numbers.format_ticket_no(prefix, dt.date(2026, 11, 22), 42)
        assert patterns["ticket_no"].fullmatch(ticket), ticket
        assert normalize.extract_ticket_no(f"我的单号是{ticket.lower()}") == ticket
    assert not patterns["ticket_no"].search("QQ20261122-0042")
    assert patterns["order_no"].fullmatch("DD202611220001")
    assert patterns["phone"].fullmatch("幺三八 一二三四 五六七八")
    assert not patterns["phone"].search("DD202611220001")


def test_chinese_digit_tables_come_from_cn2an():
    assert numbers.CN_DIGITS == {ch: str(i) for i, ch in enumerate("零一二三四五六七八九")} | {"〇": "0"}
    assert numbers.PHONE_DIGITS == numbers.CN_DIGITS | {"幺": "1", "两": "2"}
    assert "两" not in numbers.CN_DIGITS  # 两 is "two of" outside phone numbers


def test_model_prefixes_put_a_containing_prefix_first():
    assert model_prefix_order(["RO", "JSJ", "MRO", "KFR", "KF", "RO"]) == ["MRO", "RO", "JSJ", "KFR", "KF"]


@pytest.fixture
def renamed_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config dir whose repair tickets are numbered WX… instead of BX…."""
    for name in ("service.yml", "catalogue.yml", "chat_slang.yml"):
        shutil.copy(ROOT / "config" / name, tmp_path / name)
    data = yaml.safe_load((tmp_path / "service.yml").read_text(encoding="utf-8"))
    assert data["ticket_types"]["repair"]["prefix"] == "BX"
    data["ticket_types"]["repair"]["prefix"] = "WX"
    (tmp_path / "service.yml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("KEFU_CONFIG_DIR", str(tmp_path))
    return tmp_path


def test_a_prefix_changed_in_service_yml_changes_every_derived_pattern(renamed_prefix: Path):
    assert numbers.ticket_prefixes()[0] == "WX"
    assert normalize.extract_ticket_no("单号 wx20261122-0042") == "WX20261122-0042"
    assert normalize.extract_ticket_no("单号 BX20261122-0042") is None
    config = settings.service_config()
    assert numbering.parse_ticket_no("WX20261122-0042", config) == "WX20261122-0042"
    with pytest.raises(InvalidTicketNo):
        numbering.parse_ticket_no("BX20261122-0042", config)
    ticket_nlu = _nlu_patterns(render())["ticket_no"]
    assert "WX" in ticket_nlu and "BX" not in ticket_nlu
    assert render() != REGEX_FILE.read_text(encoding="utf-8")  # so the drift test would fail
