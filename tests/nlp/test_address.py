"""kefu.nlp.address: a partial address correction changes only the part the customer names."""
from __future__ import annotations

import pytest

from kefu.nlp.address import is_partial_address, merge_address, plausible_address

OLD = "上海市浦东新区张江路100弄5号601室"


@pytest.mark.parametrize("correction, expected", [
    ("602室", "上海市浦东新区张江路100弄5号602室"),
    ("门牌号错了，是602", "上海市浦东新区张江路100弄5号602"),
    ("是7号1201室", "上海市浦东新区张江路100弄7号1201室"),
    ("不对，是200弄5号601室", "上海市浦东新区张江路200弄5号601室"),
    ("杭州市西湖区文三路90号", "杭州市西湖区文三路90号"),          # a whole address replaces the old one
    ("应该是张江路88号", "张江路88号"),                             # names a street: whole
    ("我报修的地址写错了，是602室", "上海市浦东新区张江路100弄5号602室"),  # what follows the announcement
    ("上次留的地址不对，门牌号应该是602", "上海市浦东新区张江路100弄5号602"),
    ("地址改成杭州市西湖区文三路90号", "杭州市西湖区文三路90号"),
])
def test_a_partial_correction_keeps_the_rest_of_the_address(correction, expected):
    assert merge_address(OLD, correction) == expected


def test_building_unit_and_room_replace_from_the_building_down():
    old = "北京市朝阳区望京街道花家地北里3号楼2单元501"
    assert merge_address(old, "5号楼1单元302") == "北京市朝阳区望京街道花家地北里5号楼1单元302"
    assert merge_address(old, "3单元501") == "北京市朝阳区望京街道花家地北里3号楼3单元501"
    assert merge_address(old, "12层") == "北京市朝阳区望京街道花家地北里3号楼2单元12层"  # floor and below
    assert merge_address("杭州市西湖区文三路90号", "3号楼2单元501") == "杭州市西湖区文三路90号3号楼2单元501"


def test_without_an_old_address_the_correction_is_the_address():
    assert merge_address(None, "602室") == "602室"
    assert merge_address("", "南京市鼓楼区中山北路30号") == "南京市鼓楼区中山北路30号"


@pytest.mark.parametrize("text, partial", [
    ("602室", True), ("3号楼2单元501", True), ("门牌号是1203", True), ("5栋", True),
    ("杭州市西湖区文三路90号", False), ("中山北路30号", False), ("好的", False), ("", False),
])
def test_what_counts_as_a_part_of_an_address(text, partial):
    assert is_partial_address(text) is partial


@pytest.mark.parametrize("text, plausible", [
    ("嘉兴市南湖区中山东路1882号", True),
    ("海淀区学院路32号院5号楼302", True),
    ("福田區景田北路18號3棟1202", True),  # Traditional characters
    ("万科城3栋1201", True),  # no region, but a numbered building and room
    # taken for addresses at the address question (chat probe, 2026-12-07)
    ("订单号DD202612070033", False),
    ("型号看不清了 好像是 F60-15", False),
    ("冷藏室完全不冷 冷凍還可以", False),
    ("地址就是下单那个地址", False),
    ("在哪里都行", False),
])
def test_what_counts_as_an_address(text, plausible):
    assert plausible_address(text) is plausible
