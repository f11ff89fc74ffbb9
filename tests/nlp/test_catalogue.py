from __future__ import annotations

import os

import pytest
import yaml

from kefu.nlp import catalogue as catalogue_module
from kefu.nlp.catalogue import Catalogue, CatalogueError, load_catalogue


@pytest.mark.parametrize(
    "term, expected",
    [("空调", "空调"), ("冷气机", "空调"), ("抽油烟机", "油烟机"), (" 雪柜 ", "冰箱"),
     ("壁挂炉", "热水器"), ("电视机", None), ("", None)],
)
def test_canonical_product(catalogue, term, expected):
    assert catalogue.canonical_product(term) == expected


@pytest.mark.parametrize(
    "term, expected",
    [("不制冷", "不制冷"), ("不出冷风", "不制冷"), ("燃气味", "燃气泄漏"), ("显示e1", "显示故障代码"),
     ("显示Ｅ1", "显示故障代码"), ("很好", None)],
)
def test_canonical_fault_ignores_case_and_width(catalogue, term, expected):
    assert catalogue.canonical_fault(term) == expected


@pytest.mark.parametrize(
    "model, expected",
    [("KFR-35GW/BpR3", "空调"), ("kf-26gw", "空调"), ("XQG100-B14", "洗衣机"), ("BCD-520WKPZM", "冰箱"),
     ("JSQ25-13", "热水器"), ("MRO105-4", "净水器"), ("RO-400G", "净水器"), ("CXW-200-A", "油烟机"),
     ("ＷＱＰ8-W3", "洗碗机"), ("ABC123", None), ("", None)],
)
def test_product_for_model_uses_longest_prefix(catalogue, model, expected):
    assert catalogue.product_for_model(model) == expected


def test_emergency_faults(catalogue):
    assert catalogue.emergency_faults() == {"漏电", "冒烟", "打火花", "燃气泄漏", "漫水"}
    assert catalogue.is_emergency("煤气味")
    assert not catalogue.is_emergency("漏水")
    assert not catalogue.is_emergency("不存在")


def test_find_products_longest_match_first_in_order(catalogue):
    assert catalogue.find_products("我家抽油烟机坏了，冷气机也不行") == ["油烟机", "空调"]
    # 滚筒洗衣机 is one mention, not 滚筒 + 洗衣机; repeated products are reported once.
    matches = catalogue.match_products("滚筒洗衣机和洗衣机")
    assert [(m.text, m.canonical) for m in matches] == [("滚筒洗衣机", "洗衣机"), ("洗衣机", "洗衣机")]
    assert catalogue.find_products("滚筒洗衣机和洗衣机") == ["洗衣机"]
    assert catalogue.find_products("你好") == []


def test_find_faults_longest_match_and_spans(catalogue):
    text = "空调不冷了，还有燃气味"
    assert catalogue.find_faults(text) == ["不制冷", "燃气泄漏"]
    match = catalogue.match_faults(text)[0]
    assert (match.text, text[match.start : match.end]) == ("不冷了", "不冷了")


def test_find_faults_tolerates_fullwidth_and_case(catalogue):
    assert catalogue.find_faults("热水器显示ｅ４") == ["显示故障代码"]


def test_module_shortcuts_use_the_default_catalogue():
    assert catalogue_module.canonical_product("冷气机") == "空调"
    assert catalogue_module.canonical_fault("漏气") == "燃气泄漏"
    assert catalogue_module.product_for_model("KFR-35GW/BpR3") == "空调"
    assert "漏电" in catalogue_module.emergency_faults()
    assert catalogue_module.find_products("抽油烟机") == ["油烟机"]
    assert catalogue_module.find_faults("不制冷") == ["不制冷"]


def _spec(**overrides):
    data = {
        "products": {"空调": {"variants": ["冷气机"], "model_prefixes": ["KFR"]},
                     "冰箱": {"variants": ["雪柜"], "model_prefixes": ["BCD"]}},
        "faults": {"漏水": {"variants": ["滴水"]}, "冒烟": {"variants": ["着火"], "emergency": True}},
    }
    data.update(overrides)
    return data


def test_valid_spec_loads():
    cat = Catalogue.from_dict(_spec())
    assert cat.canonical_product("雪柜") == "冰箱"
    assert cat.emergency_faults() == {"冒烟"}


@pytest.mark.parametrize(
    "bad",
    [
        {"products": {"空调": {"variants": ["冷气机"]}, "冰箱": {"variants": ["冷气机"]}}},  # shared variant
        {"faults": {"漏水": {"variants": ["空调"]}}},  # fault term equal to a product
        {"products": {"空调": {"model_prefixes": ["kfr"]}}},  # prefixes are upper case
        {"products": {"空调": {"model_prefixes": ["KFR"]}, "冰箱": {"model_prefixes": ["KFR"]}}},
        {"products": {"空调": {"variants": ["冷气 机"]}}},  # whitespace inside a term
        {"products": {"空调": {"colour": "white"}}},  # unknown key
        {"faults": None},
    ],
)
def test_invalid_spec_raises(bad):
    with pytest.raises(CatalogueError):
        Catalogue.from_dict(_spec(**bad))


def test_load_catalogue_reloads_when_the_file_changes(tmp_path):
    path = tmp_path / "catalogue.yml"
    path.write_text(yaml.safe_dump(_spec(), allow_unicode=True), "utf-8")
    assert load_catalogue(path).canonical_product("冰柜") is None
    spec = _spec()
    spec["products"]["冰箱"]["variants"].append("冰柜")
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), "utf-8")
    os.utime(path, ns=(1, 10**18))  # make sure the mtime differs on coarse filesystems
    assert load_catalogue(path).canonical_product("冰柜") == "冰箱"


def test_missing_or_broken_file_raises(tmp_path):
    with pytest.raises(CatalogueError):
        load_catalogue(tmp_path / "nope.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("products: [", "utf-8")
    with pytest.raises(CatalogueError):
        load_catalogue(broken)
