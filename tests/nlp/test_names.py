"""Customer names as customers give them (chat probe 2026-12-07: "我姓张" lost its "张")."""
from __future__ import annotations

import pytest

from kefu.nlp.names import introduced_name, person_name, surname_said


@pytest.mark.parametrize("text, name", [
    ("张", "张"),
    ("我姓张", "张"),
    ("免贵姓张", "张"),
    ("免贵 姓张", "张"),
    ("姓张", "张"),            # DIET's value: jieba makes one token of 姓张
    ("我姓张。", "张"),
    ("免贵姓张，弓长张", "张"),
    ("我姓欧阳", "欧阳"),      # compound surnames are whole
    ("免贵姓欧阳", "欧阳"),
    ("欧阳", "欧阳"),
    ("张三", "张三"),
    ("我叫张三", "张三"),
    ("我是张三", "张三"),
    ("欧阳娜娜", "欧阳娜娜"),
    ("我叫欧阳娜娜", "欧阳娜娜"),
    ("我是张先生", "张先生"),  # the customer's own words; no gender is ever added
    ("联系人：王建国", "王建国"),
    ("名字是刘洋", "刘洋"),
    ("阿依古丽·买买提", "阿依古丽·买买提"),
])
def test_person_name_keeps_the_whole_name_and_only_the_name(text, name):
    assert person_name(text) == name


@pytest.mark.parametrize("text", ["", "  ", "13812345678", "我叫", "我姓", "姓名", "张3"])
def test_no_name_gives_none(text):
    assert person_name(text) is None


@pytest.mark.parametrize("text, surname", [
    ("我姓张 空调坏了 想约个师傅上门", "张"),
    ("我姓何 电话13922223333 洗衣机不进水", "何"),
    ("我姓刘不姓王", "刘"),
    ("姓李 木子李", "李"),
    ("免贵姓欧阳，洗衣机不脱水", "欧阳"),
    ("本人姓黄", "黄"),
    ("那个姓赵的师傅说话太冲了 我要投诉他", None),  # not the customer
    ("宝宝起名 姓李的男孩", None),
    ("我的姓名是张三", None),
    ("空调坏了", None),
])
def test_surname_said_in_a_message(text, surname):
    assert surname_said(text) == surname


@pytest.mark.parametrize("text, name", [
    ("我姓张", "张"),
    ("免贵姓欧阳", "欧阳"),
    ("我叫张三", "张三"),
    ("我是王大明", "王大明"),
    ("张", None),          # a bare word typed at another question is no introduction
    ("张三", None),
    ("我是说", None),      # a one-character "name" after 我是/我叫 is no name
    ("我姓张 空调坏了", None),  # more than a name: not an answer typed at the wrong question
])
def test_introduced_name_is_a_whole_message_that_introduces_a_name(text, name):
    assert introduced_name(text) == name
