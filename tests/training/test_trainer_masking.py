"""Personal data is masked in review exports; entity offsets follow the text."""
from __future__ import annotations

import pytest

from kefu.training.masking import SURROGATES, find_personal_spans, mask_slot_value, mask_text


@pytest.mark.parametrize("text, expected", [
    ("我的电话13812345678", "我的电话13800000000"),
    ("手机 138-1234-5678 谢谢", "手机 13800000000 谢谢"),
    ("+86 139 1234 5678", "13800000000"),
    ("电话一三八一二三四五六七八", "电话一三八零零零零零零零零"),
    ("座机010-12345678", "座机13800000000"),
    ("我家在北京市朝阳区望京街道8号", "我家在示例市示例区示例路1号"),
    ("上海市浦东新区张江路100弄5号601室", "示例市示例区示例路1号"),
    ("北京市朝阳区望京西园三区301号楼2单元502", "示例市示例区示例路1号"),
    ("杭州市西湖区文三村3组", "示例市示例区示例路1号"),
    ("麻烦师傅明天下午来朝阳区望京街道8号修一下", "麻烦师傅明天下午来示例市示例区示例路1号修一下"),
    ("我叫王小明，空调坏了", "我叫张三，空调坏了"),
    ("我是李建国的家属", "我是张三的家属"),
    ("王女士您好", "张女士您好"),
    ("免贵姓刘", "免贵姓张"),
    ("邮箱 a.b@qq.com", "邮箱 user@example.com"),
    ("身份证11010119900101123X", "身份证110101190001010000"),
])
def test_personal_data_is_replaced_by_surrogates(text, expected):
    assert mask_text(text)[0] == expected


@pytest.mark.parametrize("text", [
    "空调不制冷了要报修", "查一下 BX20261122-0042 的进度", "订单DD202611150042到哪了", "型号KFR-35GW/BpR3",
    "改到周六上午十点", "然后怎么弄都弄不好", "分期付款可以吗", "我是来报修的", "我是新客户", "热水器有燃气味", "师傅说要换压缩机", "保修期是多久",
])
def test_service_text_is_left_alone(text):
    assert mask_text(text)[0] == text


def test_masking_is_idempotent():
    once = mask_text("我叫王小明 住在北京市朝阳区望京街道8号 电话13812345678")[0]
    assert mask_text(once)[0] == once
    assert find_personal_spans(once) == []


def test_entities_move_with_the_text():
    text = "明天下午来北京市朝阳区望京街道8号修空调"
    entities = [
        {"entity": "time", "start": 0, "end": 4, "value": "明天下午"},
        {"entity": "address", "start": 5, "end": 17, "value": "北京市朝阳区望京街道8号"},
        {"entity": "product", "start": 18, "end": 20, "value": "空调"},
    ]
    masked, moved = mask_text(text, entities)
    assert masked == "明天下午来示例市示例区示例路1号修空调"
    assert [(e["entity"], masked[e["start"]:e["end"]], e["value"]) for e in moved] == [
        ("time", "明天下午", "明天下午"),
        ("address", SURROGATES["address"], SURROGATES["address"]),
        ("product", "空调", "空调"),
    ]


def test_known_slot_values_are_masked_even_without_a_pattern():
    # A from_text address slot: no address pattern in "老地方 三楼", but the slot says it is one.
    masked, _ = mask_text("就是老地方三楼那家", known=[("address", "老地方三楼")])
    assert masked == "就是示例市示例区示例路1号那家"


def test_slot_values():
    assert mask_slot_value("phone", "13812345678") == SURROGATES["phone"]
    assert mask_slot_value("address", "北京市朝阳区望京街道8号") == SURROGATES["address"]
    assert mask_slot_value("product", "空调") == "空调"
    assert mask_slot_value("fault_description", "漏水 电话13812345678") == "漏水 电话13800000000"
    assert mask_slot_value("phone", None) is None
