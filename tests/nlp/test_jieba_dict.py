from __future__ import annotations

import re

import jieba

from kefu.nlp.config import load_settings
from kefu.nlp.jieba_dict import dictionary_entries, load_userdict_text, render_userdict

LINE = re.compile(r"^(\S+) (\d+) ([a-z]+)$")


def test_userdict_lines_are_jieba_entries(catalogue):
    text = render_userdict(catalogue, load_settings().jieba)
    lines = text.splitlines()
    assert lines and all(LINE.match(line) for line in lines), [line for line in lines if not LINE.match(line)]
    words = [LINE.match(line).group(1) for line in lines]
    assert len(words) == len(set(words))
    assert not any(word.startswith("#") for word in words)  # jieba would read a comment as a word


def test_userdict_holds_catalogue_terms_and_service_words(catalogue):
    settings = load_settings().jieba
    words = {word for word, _, _ in dictionary_entries(catalogue, settings)}
    for item in [*catalogue.products.values(), *catalogue.faults.values()]:
        assert set(item.terms) <= words
    assert {"报修", "上门", "师傅", "工单", "单号", "催单", "退换货", "滤芯", "人工客服"} <= words
    assert {"显示E1", "显示e1"} <= words  # lower-cased forms for lower-cased text
    freq_pos = {word: (freq, pos) for word, freq, pos in dictionary_entries(catalogue, settings)}
    assert freq_pos["油烟机"] == (settings.word_freq, settings.catalogue_pos)
    assert freq_pos["上门"] == (settings.word_freq, "v")


def test_loading_changes_jieba_segmentation_once(catalogue):
    text = render_userdict(catalogue, load_settings().jieba)
    sentence = "我家抽油烟机吸力小，空调也不制冷了"
    first = load_userdict_text(text)
    assert load_userdict_text(text) is False  # idempotent
    tokens = jieba.lcut(sentence)
    assert {"抽油烟机", "吸力小", "不制冷"} <= set(tokens), tokens
    assert first in (True, False)  # another test may have loaded it already
