from __future__ import annotations

import pytest

from kefu.nlp.normalize import (
    clean_user_text,
    cn_digits_to_arabic,
    extract_order_no,
    extract_phone,
    extract_ticket_no,
    to_halfwidth,
)


def test_to_halfwidth():
    assert to_halfwidth("ＢＸ２０２６　ｋｆｒ！，") == "BX2026 kfr!,"
    assert to_halfwidth("空调。") == "空调。"  # CJK punctuation outside the full-width block stays


@pytest.mark.parametrize(
    "text, expected",
    [
        ("一三八一二三四五六七八", "13812345678"),
        ("二〇二六年", "2026年"),
        ("幺三八两二三四五六七八", "13822345678"),  # 幺/两 in a phone-length run
        ("138一二三四5678", "13812345678"),
        ("三四天", "三四天"),  # short runs are words
        ("一一解答", "一一解答"),
        ("两三天后", "两三天后"),
        ("上门费50一次", "上门费50一次"),  # short mixed run: not a number being read out
        ("十一月", "十一月"),  # 十 is not a digit
        ("幺二三", "幺23"),  # 幺 only in phone-like runs
    ],
)
def test_cn_digits_to_arabic(text, expected):
    assert cn_digits_to_arabic(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("13812345678", "13812345678"),
        ("我的电话是138 1234 5678，谢谢", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("138 - 1234 - 5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("0086-13812345678", "13812345678"),
        ("一三八一二三四五六七八", "13812345678"),
        ("幺三八 幺二三四 五六七八", "13812345678"),
        ("138一二三四5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("电话19912345678或者13812345678", "19912345678"),
    ],
)
def test_extract_phone(text, expected):
    assert extract_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "12345678901",  # starts 12: not a mobile number
        "1381234567",  # 10 digits
        "订单号 DD138123456789",  # inside a longer number
        "138123456789",  # 12 digits
        "工单BX20261122-0042",
        "没有电话",
        "",
    ],
)
def test_extract_phone_rejects(text):
    assert extract_phone(text) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("我的单号是BX20261122-0042", "BX20261122-0042"),
        ("bx20261122-0042", "BX20261122-0042"),
        ("ＴＳ２０２６１１２２－００４２", "TS20261122-0042"),
        ("AZ20261122 - 12345", "AZ20261122-12345"),
        ("th20261122—0007呢", "TH20261122-0007"),
        ("JY 20261122-0001", "JY20261122-0001"),
        ("查一下工单 BX202611220042", "BX20261122-0042"),
        ("bx20261122 0042进度", "BX20261122-0042"),
    ],
)
def test_extract_ticket_no(text, expected):
    assert extract_ticket_no(text) == expected


@pytest.mark.parametrize(
    "text",
    ["XX20261122-0042", "BX2026112-0042", "BX20261122-004", "ABX20261122-0042", "BX202611221-0042", "没有"],
)
def test_extract_ticket_no_rejects(text):
    assert extract_ticket_no(text) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("订单DD202611150042", "DD202611150042"),
        ("dd202611150042", "DD202611150042"),
        ("ＤＤ２０２６１１１５００４２", "DD202611150042"),
        ("DD 202611150042", "DD202611150042"),
    ],
)
def test_extract_order_no(text, expected):
    assert extract_order_no(text) == expected


@pytest.mark.parametrize("text", ["DD20261115004", "DD2026111500421", "ADD202611150042", "202611150042"])
def test_extract_order_no_rejects(text):
    assert extract_order_no(text) is None


def test_clean_user_text_strips_invisible_and_collapses_space():
    raw = "\ufeff你好\u200b，我的\t空调\x00\x07  不制冷\u202e了\n\n"
    assert clean_user_text(raw) == ("你好，我的 空调 不制冷了", False)


def test_clean_user_text_ideographic_space_and_nfc():
    assert clean_user_text("e\u0301　空调") == ("é 空调", False)


def test_clean_user_text_truncates():
    text, truncated = clean_user_text("空" * 600)
    assert (len(text), truncated) == (500, True)
    assert clean_user_text("空调不制冷", max_len=2) == ("空调", True)
    assert clean_user_text("   ") == ("", False)
