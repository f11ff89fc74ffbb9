"""The NLU text normaliser (kefu/nlp/textnorm.py) and its Rasa components (components/normalizer.py)."""
from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.normalizer import KefuTextNormalizer, KefuTextRestorer, NORMALIZED_TEXT
from kefu.nlp.textnorm import load_slang, normalize_text


@pytest.mark.parametrize("raw, expected", [
    ("謝謝你，再見！", "谢谢你,再见!"),                      # Traditional -> Simplified (OpenCC), full-width -> half-width
    ("冰箱壞了要報修", "冰箱坏了要报修"),
    ("ＢＸ２０２６１１２２－００４２", "BX20261122-0042"),
    ("空调木有反应，肿么办？？？！！", "空调没有反应,怎么办?"),  # slang, punctuation run collapsed
    ("好的😀😀😀👍", "好的😀"),                              # emoji run collapsed
    ("@暖风家电客服 我家热水器漏水了 #热水器坏了# http://t.cn/A6abcd 我在:北京·朝阳区", "我家热水器漏水了"),
    ("3q", "谢谢"),
    ("型号KFR3Q-35", "型号KFR3Q-35"),                        # ASCII slang never inside a model number
    ("按装师傅什么时候来", "安装师傅什么时候来"),
    ("买的冰箱坏了要腿货，腿款也行", "买的冰箱坏了要退货,退款也行"),  # homophones of 退货/退款
    ("火腿肠", "火腿肠"),
    ("洗衣鸡不脱水了", "洗衣机不脱水了"),                     # found by the chat probe and the simulator
])
def test_normalize_text(raw, expected):
    assert normalize_text(raw).text == expected


def test_a_message_of_only_a_mention_is_kept():
    assert normalize_text("@小暖").text == "@小暖"


def test_offsets_map_back_into_the_original_text():
    raw = "@客服小暖 我的空掉不製冷了！！！"
    norm = normalize_text(raw)
    assert norm.text == "我的空调不制冷了!"
    start = norm.text.index("空调")
    o_start, o_end = norm.to_original(start, start + 2)
    assert raw[o_start:o_end] == "空掉"
    start = norm.text.index("不制冷")
    o_start, o_end = norm.to_original(start, start + 3)
    assert raw[o_start:o_end] == "不製冷"
    # and back: an annotation in the original lands on the same words
    assert norm.to_normalized(o_start, o_end) == (start, start + 3)


def test_length_changing_slang_keeps_offsets_inside_the_original():
    raw = "酱紫的话冰箱怎么修"
    norm = normalize_text(raw)
    assert norm.text == "这样子的话冰箱怎么修"
    start = norm.text.index("冰箱")
    assert raw[slice(*norm.to_original(start, start + 2))] == "冰箱"


def test_slang_file_is_validated(tmp_path):
    bad = tmp_path / "slang.yml"
    bad.write_text("groups:\n  slang:\n    木有: ''\n", encoding="utf-8")
    with pytest.raises(ValueError, match="木有"):
        load_slang(str(bad))
    assert load_slang()["木有"] == "没有"


def _pipeline(text: str, entities):
    message = Message({TEXT: text})
    KefuTextNormalizer({}).process([message])
    seen = message.get(TEXT)
    found = []
    for value in entities:  # what an extractor finds in the normalised text
        start = seen.index(value)
        found.append({"entity": "product", "value": value, "start": start, "end": start + len(value)})
    message.set(ENTITIES, found, add_to_output=True)
    KefuTextRestorer().process([message])
    return seen, message


def test_components_feed_normalised_text_and_restore_original_offsets():
    raw = "#吐槽# @暖风客服 我家冰相和空掉都壞了！！"
    seen, message = _pipeline(raw, ["冰箱", "空调"])
    assert seen == "我家冰箱和空调都坏了!"
    assert message.get(TEXT) == raw
    assert message.get(NORMALIZED_TEXT) == seen
    spans = [raw[e["start"]:e["end"]] for e in message.get(ENTITIES)]
    assert spans == ["冰相", "空掉"]
    assert [e["value"] for e in message.get(ENTITIES)] == ["冰箱", "空调"]
    assert "text_normalized" in message.as_dict(only_output_properties=True)


def test_training_examples_are_normalised_with_their_annotations_moved():
    example = Message({TEXT: "@客服 明天下午來修", "intent": "inform",
                       ENTITIES: [{"entity": "time", "value": "明天下午", "start": 4, "end": 8}]})
    data = TrainingData([example])
    KefuTextNormalizer({}).process_training_data(data)
    assert example.get(TEXT) == "明天下午来修"
    entity = example.get(ENTITIES)[0]
    assert example.get(TEXT)[entity["start"]:entity["end"]] == "明天下午"


@pytest.mark.parametrize("text, expected", [
    ("你好，我想问一下你们空调保修多久啊，谢谢", "我想问一下你们空调保修多久啊,"),  # was read as `thank`
    ("您好 在吗 我家冰箱不制冷了", "我家冰箱不制冷了"),
    ("请问保修多久？谢谢！", "请问保修多久?"),                   # the question mark stays
    ("亲，空调坏了要修，麻烦了", "空调坏了要修,"),
    ("hi 空调漏水", "空调漏水"),
    ("hisense空调坏了", "hisense空调坏了"),                     # no greeting inside a word
    ("你好", "你好"),                                           # only courtesy: kept whole
    ("好的谢谢", "好的谢谢"),
    ("你好，谢谢", "你好,谢谢"),
    ("谢谢你们的服务", "谢谢你们的服务"),                       # leading thanks are the message
    ("谢谢，师傅什么时候来", "师傅什么时候来"),                 # thanks opening a new question
    ("好的 那我再问一下保修多久", "那我再问一下保修多久"),
    ("OK，空调漏水了", "空调漏水了"),
    ("好的，取消吧", "好的,取消吧"),                            # too little left: kept whole
    ("好的好的", "好的好的"),
    ("感谢你们的及时处理", "感谢你们的及时处理"),               # no separator: the message itself
])
def test_courtesy_around_a_request_is_cut_off(text, expected):
    assert normalize_text(text).text == expected


def test_cut_courtesy_keeps_the_offsets_of_what_remains():
    text = "你好，空调在漏水，谢谢"
    result = normalize_text(text)
    start = result.text.index("漏水")
    assert text[slice(*result.to_original(start, start + 2))] == "漏水"


def test_the_normaliser_fingerprint_follows_its_settings(tmp_path):
    """Rasa's training cache keys the normaliser on its config: without the addon, a changed
    slang list or courtesy setting was not trained (the cached output was reused)."""
    slang = tmp_path / "slang.yml"
    slang.write_text("木有: 没有\n", encoding="utf-8")
    before = KefuTextNormalizer.fingerprint_addon({"slang_file": str(slang)})
    assert before == KefuTextNormalizer.fingerprint_addon({"slang_file": str(slang)})
    slang.write_text("木有: 没有\n肿么: 怎么\n", encoding="utf-8")
    assert KefuTextNormalizer.fingerprint_addon({"slang_file": str(slang)}) != before
