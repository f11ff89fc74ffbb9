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
    ("应该是张江路88号", "上海市浦东新区张江路88号"),              # from the street: the city and district stay
    ("地址写错了 是张江路200弄5号601室 不是100弄", "上海市浦东新区张江路200弄5号601室"),  # the negated clause is no part
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


def test_a_correction_from_the_street_keeps_the_city_and_on_the_same_street_the_flat():
    """"地址写错了 是科技路22号 不是20号" became "科技路22号不是20号", and "是建设路86号 不是88号"
    lost the city, district and flat (chat probe, 2026-12-08)."""
    assert merge_address("长安市雁塔区科技路20号8栋1203", "地址写错了 是科技路22号 不是20号") == "长安市雁塔区科技路22号8栋1203"
    assert merge_address("哈尔滨市南岗区建设路88号3栋502", "是建设路86号 不是88号") == "哈尔滨市南岗区建设路86号3栋502"
    assert merge_address("长安市雁塔区科技路20号8栋1203", "建设路86号") == "长安市雁塔区建设路86号"  # another street


def test_a_time_correction_is_no_address():
    """"时间错了 我说的周六 12号" corrected the address to "…和平大街我说的周六12号"."""
    assert not plausible_address("时间错了 我说的周六 12号")
    assert not is_partial_address("时间错了 我说的周六 12号")
    assert plausible_address("北京市朝阳区望京街道花家地北里3号楼2单元501 明天下午")
