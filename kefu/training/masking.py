"""Personal data out of review exports: phones, addresses, names (and e-mails, ID numbers).

Masking replaces each personal value by a fixed, obviously fake *surrogate* of the same
kind (13800000000, 示例市示例区示例路1号, 张三 …) instead of a tag like ``<PHONE>``: an
accepted example then still reads like a real message and still trains the entity
extractors, and no personal value can reach ``data/``.

What is found, in this order:
1. values the conversation itself marks as personal: slots ``phone``, ``address``,
   ``person_name`` (and friends) set after the message, and entities of those types;
2. patterns: mobile numbers (Arabic or Chinese digits), landlines, e-mails, ID-card
   numbers, addresses (a run of ≥2 address parts: 省 市 区 县 镇 路 街 号 栋 单元 室 …),
   names (我叫/我姓/联系人 …, and 王先生/李女士 style).

Entity offsets are moved with the text, so an exported example keeps its annotation.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from kefu import numbers

PHONE, ADDRESS, NAME, EMAIL, ID_NUMBER = "phone", "address", "person_name", "email", "id_number"

SURROGATES = {
    PHONE: "13800000000",
    ADDRESS: "示例市示例区示例路1号",
    NAME: "张三",
    EMAIL: "user@example.com",
    ID_NUMBER: "110101190001010000",
}
CHINESE_PHONE_SURROGATE = "一三八零零零零零零零零"
SURNAME_SURROGATE = "张"

# Entity types and slots whose values are personal data.
PERSONAL_ENTITIES = {"phone": PHONE, "address": ADDRESS, "person_name": NAME}
PERSONAL_SLOTS = {
    "phone": PHONE,
    "address": ADDRESS,
    "customer_address": ADDRESS,
    "person_name": NAME,
    "contact_name": NAME,
    "customer_name": NAME,
}

_MOBILE = re.compile(numbers.MOBILE_IN_TEXT)  # patterns: kefu/numbers.py
_CN_MOBILE = re.compile(numbers.CN_MOBILE_IN_TEXT)
_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}[ -]?\d{7,8}(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_ID_NUMBER = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")

# One address part: up to 12 name characters, then a part suffix. Name characters
# exclude the words that usually come just before an address (我家在/住在/地址是/到…).
_ADDR_CHARS = r"[\u4e00-\u9fa5A-Za-z0-9\-－#]"
_ADDR_STOP = "我你他她您在是住到去来的家址请帮麻烦改换"
_ADDR_SUFFIX = (
    r"(?:特别行政区|自治区|自治州|省|市|区|县|旗|镇|乡|街道|大道|大街|路|街|巷|胡同|里|小区|花园|家园|苑|公寓|"
    r"大厦|广场|中心|村|栋|幢|号楼|楼|单元|层|号|室)"
)
# Suffixes that are everyday words too (怎么弄, 一组, 分期, 座位) count only after a number: 100弄, 3组, 二期, A座.
_ADDR_NUMBERED = r"[0-9A-Za-z一二三四五六七八九十百零两]{1,6}(?:弄|组|期|座)"
_ADDR_PART = rf"(?:(?:(?![{_ADDR_STOP}]){_ADDR_CHARS}){{1,12}}?{_ADDR_SUFFIX}|{_ADDR_NUMBERED})"
_ADDRESS = re.compile(rf"{_ADDR_PART}(?:[ ,，]?{_ADDR_PART})+(?:[-－]?[0-9A-Za-z]{{1,6}}(?:号|室)?)?")

# Names: after an introducing phrase (two or three characters), or surname + title.
_NAME_END = r"(?=$|[\s,，。.!！?？;；、]|的|电话|手机)"
_INTRO = re.compile(rf"(?:我叫|我的名字是|我名字叫|名字叫|名字是|姓名[:：]?|联系人[:：]?)\s?([\u4e00-\u9fa5]{{2,3}}){_NAME_END}")
_SURNAME_ONLY = re.compile(r"(?:我姓|免贵姓|姓)([\u4e00-\u9fa5])(?=$|[\s,，。!！?？]|的|先生|女士|小姐)")
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜"
    "崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_I_AM = re.compile(rf"(?:我是|本人)([{_SURNAMES}][\u4e00-\u9fa5]{{1,2}}){_NAME_END}")
_TITLED = re.compile(rf"([{_SURNAMES}])(?=(?:先生|女士|小姐|师傅|阿姨|大爷|老师))")
_NOT_NAMES = {"客服", "机器人", "师傅", "售后", "本人", "这个", "那个", "他们", "我们", "一个"}


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str
    replacement: str


def _surrogate(kind: str, original: str) -> str:
    if kind == PHONE and original and original[0] in "一幺":
        return CHINESE_PHONE_SURROGATE
    return SURROGATES[kind]


def find_personal_spans(text: str, known: Iterable[Tuple[str, str]] = (),
                        entity_spans: Iterable[Tuple[int, int, str]] = ()) -> List[Span]:
    """Non-overlapping spans of personal data in ``text`` (earlier rules win).

    ``known``: (kind, value) pairs the conversation marks as personal (slot values);
    ``entity_spans``: (start, end, kind) of personal entities the model found.
    """
    candidates: List[Span] = []
    for start, end, kind in entity_spans:
        if 0 <= start < end <= len(text):
            candidates.append(Span(start, end, kind, _surrogate(kind, text[start:end])))
    for kind, value in known:
        value = str(value or "").strip()
        if len(value) < 2 or value in SURROGATES.values():
            continue
        for match in re.finditer(re.escape(value), text):
            candidates.append(Span(match.start(), match.end(), kind, _surrogate(kind, value)))
    for pattern, kind in ((_ID_NUMBER, ID_NUMBER), (_MOBILE, PHONE), (_CN_MOBILE, PHONE), (_LANDLINE, PHONE),
                          (_EMAIL, EMAIL), (_ADDRESS, ADDRESS)):
        for match in pattern.finditer(text):
            candidates.append(Span(match.start(), match.end(), kind, _surrogate(kind, match.group())))
    for match in [*_INTRO.finditer(text), *_I_AM.finditer(text)]:
        if match.group(1) not in _NOT_NAMES:
            candidates.append(Span(match.start(1), match.end(1), NAME, SURROGATES[NAME]))
    for pattern in (_SURNAME_ONLY, _TITLED):
        for match in pattern.finditer(text):
            if match.group(1) != SURNAME_SURROGATE:
                candidates.append(Span(match.start(1), match.end(1), NAME, SURNAME_SURROGATE))
    chosen: List[Span] = []
    for span in candidates:  # first come, first served; then the longest
        if text[span.start:span.end] == span.replacement:
            continue
        if any(span.start < c.end and c.start < span.end for c in chosen):
            continue
        chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def apply_spans(text: str, spans: Sequence[Span], entities: Sequence[Dict[str, Any]] = ()) -> Tuple[str, List[Dict[str, Any]]]:
    """Replace ``spans`` and move ``entities`` (dicts with start/end/value) along."""
    pieces: List[str] = []
    cursor = 0
    mapping: List[Tuple[int, int, int, int, Span]] = []  # old start/end -> new start/end
    new_len = 0
    for span in spans:
        pieces.append(text[cursor:span.start])
        new_len += span.start - cursor
        mapping.append((span.start, span.end, new_len, new_len + len(span.replacement), span))
        pieces.append(span.replacement)
        new_len += len(span.replacement)
        cursor = span.end
    pieces.append(text[cursor:])
    masked = "".join(pieces)

    def move(offset: int, is_end: bool) -> int:
        shift = 0  # new position - old position after the spans passed so far
        for old_start, old_end, new_start, new_end, _ in mapping:
            if (offset <= old_start) if is_end else (offset < old_start):
                break
            if (offset <= old_end) if is_end else (offset < old_end):
                return new_end if is_end else new_start  # inside a replaced span
            shift = new_end - old_end
        return offset + shift

    moved: List[Dict[str, Any]] = []
    for entity in entities:
        entity = dict(entity)
        if "start" in entity and "end" in entity:
            start, end = move(int(entity["start"]), False), move(int(entity["end"]), True)
            personal = entity.get("entity") in PERSONAL_ENTITIES
            touched = any(int(entity["start"]) < m[1] and m[0] < int(entity["end"]) for m in mapping)
            entity["start"], entity["end"] = start, end
            if touched or personal:
                entity["value"] = masked[start:end]
        elif entity.get("entity") in PERSONAL_ENTITIES:
            entity["value"] = SURROGATES[PERSONAL_ENTITIES[entity["entity"]]]
        moved.append(entity)
    return masked, moved


def mask_text(text: str, entities: Sequence[Dict[str, Any]] = (),
              known: Iterable[Tuple[str, str]] = ()) -> Tuple[str, List[Dict[str, Any]]]:
    """``text`` with personal data replaced, and its entities moved along."""
    entity_spans = [
        (int(e["start"]), int(e["end"]), PERSONAL_ENTITIES[e["entity"]])
        for e in entities
        if e.get("entity") in PERSONAL_ENTITIES and "start" in e and "end" in e
    ]
    return apply_spans(text, find_personal_spans(text, known, entity_spans), entities)


def mask_slot_value(slot: str, value: Any) -> Any:
    """A personal slot's value replaced by its surrogate; other values unchanged."""
    if value is None:
        return None
    if slot in PERSONAL_SLOTS:
        return SURROGATES[PERSONAL_SLOTS[slot]]
    if isinstance(value, str):
        return mask_text(value)[0]
    return value


def has_personal_data(text: str) -> Optional[str]:
    """The kind of the first personal value found by the patterns, else None."""
    spans = find_personal_spans(text)
    return spans[0].kind if spans else None
