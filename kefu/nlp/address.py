"""Partial address corrections: "门牌号错了，是602" changes the room, not the whole address.

A customer who corrects an address usually types only the part that was wrong ("602室",
"3号楼2单元501"). Taking that part as the new address loses the city, district and street
the technician needs. ``merge_address`` keeps the old address up to the coarsest level the
correction names and puts the correction in its place; a correction that names a region or
a street (市/区/路…) is a whole new address.
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

from kefu.nlp.textnorm import to_simplified

# Words that every usable address has at least one of.
ADDRESS_MARKERS = re.compile(r"[省市区县镇乡村路街道巷弄号栋幢楼室苑园里庄坊湾城]|小区|大厦|公寓|花园|单元")
# A whole address names a region or a street; a correction without one is a part of one.
_WHOLE = re.compile(r"[省市区县镇乡村路街道巷]|小区|大厦|公寓|花园|广场|中心")
# Levels below the street, coarsest first; each pattern matches the level's number with its word.
_NUM = r"[0-9０-９一二三四五六七八九十百零〇两A-Za-z-]+"
_LEVELS: List[Tuple[str, re.Pattern]] = [
    ("lane", re.compile(rf"{_NUM}[弄]")),
    ("house", re.compile(rf"{_NUM}号(?![楼院])|{_NUM}号院")),
    ("building", re.compile(rf"{_NUM}(?:号楼|栋|幢|座)")),
    ("unit", re.compile(rf"{_NUM}单元")),
    ("floor", re.compile(rf"{_NUM}(?:层|楼)(?!{_NUM}?号)")),
    ("room", re.compile(rf"{_NUM}(?:室|房|户)|(?<=[单元层楼栋幢座号-])[0-9]{{3,4}}$|^[0-9]{{3,4}}$")),
]
# Everything up to the last phrase that announces the new value ("…地址写错了，", "…改成").
_ANNOUNCED = re.compile(r"^.*(?:错了|改成|改为|更正为|应该是|不对|家里是|家是)[，,。：:；;]*")
# Words around the correction that are not part of it.
_LEAD = re.compile(r"^(?:不对|错了|说错了|写错了|搞错了|更正一下|改一下|应该是|是|改成|改为|门牌号?|房间号?|地址)+[，,：:\s]*")


def plausible_address(text: str) -> bool:
    """Long enough, with a region or street word or a numbered level ("3栋", "1201室"):
    "在哪里都行", "区1803", "订单号DD202612070033", "型号看不清了" and "冷藏室完全不冷" are no
    address (each was taken for one at the address question)."""
    text = to_simplified(re.sub(r"\s+", "", text or ""))
    if len(text) < 6 or not ADDRESS_MARKERS.search(text):
        return False
    if _WHOLE.search(text):
        return True
    # numbered levels alone, and words of a time: "时间错了 我说的周六 12号" is a date
    return not _TIME_WORDS.search(text) and any(pattern.search(text) for _, pattern in _LEVELS)


def address_in_answer(text: str, old: Optional[str]) -> Optional[str]:
    """The address a message typed at another question gives ("不好意思地址写错了 是盘龙区北京路
    985号", "…不對 那是公司 家裡是福田區景田北路18號3棟1202"): a whole one as typed, a part of
    one ("地址错了，是602室") merged into ``old``; None if it gives none."""
    part = correction_part(to_simplified(text))
    if plausible_address(part) and _WHOLE.search(part):
        return part
    if old and "地址" in text and is_partial_address(part):
        return merge_address(old, part)
    return None


def announces_correction(text: str) -> bool:
    """Whether ``text`` announces a corrected value ("…不对，家里是…", "地址写错了，是…")."""
    return bool(_ANNOUNCED.match(to_simplified(re.sub(r"\s+", "", text or ""))))


def correction_part(text: str) -> str:
    """``text`` without the words that announce a correction ("地址错了，是…", "我报修的地址
    写错了，是602室": what follows the last announcement)."""
    return _clean(text)


_REGION = re.compile(r"[省市区县]|自治州|新区")
_STREET = re.compile(r"[路街道巷弄号村镇]|小区|大厦|公寓|花园")


def looks_like_full_address(text: str) -> bool:
    """A region AND a street-level word ("北京市海淀区中关村大街1号1001"): stricter than
    ``plausible_address``, for telling an address typed at another question from a fault
    description that mentions a floor or a room ("外机在楼顶")."""
    text = re.sub(r"\s+", "", text or "")
    return len(text) >= 8 and bool(_REGION.search(text)) and bool(_STREET.search(text))


# A clause that names the wrong value ("科技路22号 不是20号", "不是20号 是22号"): no part of the address.
_NEGATED_CLAUSE = re.compile(r"^(?:而|并)?(?:不是|并非)")
# Words of a visit time: "时间错了 我说的周六 12号" corrects the time, not the house number.
_TIME_WORDS = re.compile(r"周[一二三四五六日天末]|星期|礼拜|上午|下午|晚上|中午|今天|明天|后天|时间")


def _clean(text: str) -> str:
    clauses = [c for c in re.split(r"[，,。;；\s]+", text or "") if c]
    kept = [c for c in clauses if not _NEGATED_CLAUSE.match(c)]
    text = "".join(kept if kept else clauses)
    text = _ANNOUNCED.sub("", text, count=1) or text
    previous = None
    while previous != text:
        previous, text = text, _LEAD.sub("", text)
    return text


def _first_level(text: str) -> Optional[Tuple[int, int]]:
    """(level index, position) of the coarsest sub-street level in ``text``."""
    for index, (_, pattern) in enumerate(_LEVELS):
        match = pattern.search(text)
        if match:
            return index, match.start()
    return None


def is_partial_address(text: str) -> bool:
    """Whether ``text`` is only the part of an address below the street ("602室", "3栋2单元")."""
    text = _clean(text)
    return bool(text) and not _WHOLE.search(text) and not _TIME_WORDS.search(text) and _first_level(text) is not None


def _region_prefix(address: str) -> str:
    """The province/city/district part before an address's street ("长安市雁塔区" of
    "长安市雁塔区科技路20号8栋1203"), or ""."""
    street = _STREET_NAME.search(address)
    head = address[:street.start()] if street else ""
    marks = list(_REGION.finditer(head))
    return head[:marks[-1].end()] if marks else ""


_STREET_NAME = re.compile(r"[^省市区县]*?(?:大道|路|街|巷|道)")


def merge_address(old: Optional[str], correction: str) -> str:
    """The address after ``correction``: the correction itself when it is a whole address or
    there is no old one; otherwise the old address with the correction's levels replaced."""
    part = _clean(correction)
    if old and not is_partial_address(part) and not _REGION.search(part) and _STREET_NAME.match(part):
        return _on_the_old_street(old, part)
    if not old or not is_partial_address(part):
        return part or correction
    level, _ = _first_level(part)
    # cut the old address where the same or a finer level starts
    cuts = [m.start() for index, (_, pattern) in enumerate(_LEVELS) if index >= level
            for m in [pattern.search(old)] if m]
    if not cuts:
        return old + part
    return old[:min(cuts)] + part


def _on_the_old_street(old: str, street_address: str) -> str:
    """A correction that starts at the street ("科技路22号") keeps the old address's city and
    district, and — on the same street — the levels finer than those it names ("8栋1203"):
    "地址写错了 是科技路22号 不是20号" became "科技路22号不是20号" (chat probe, 2026-12-08)."""
    prefix = _region_prefix(old)
    if not prefix:
        return street_address
    street = _STREET_NAME.match(street_address)
    rest = old[len(prefix):]
    if not (street and rest.startswith(street.group(0))):
        return prefix + street_address  # another street: nothing below it is known
    given = [index for index, (_, pattern) in enumerate(_LEVELS) if pattern.search(street_address)]
    if not given or (_LEVELS[0][1].search(rest) and 0 not in given):
        return prefix + street_address  # the old lane (弄) and what was below it no longer hold
    finer = [m.start() for index, (_, pattern) in enumerate(_LEVELS) if index > max(given)
             for m in [pattern.search(rest)] if m]
    return prefix + street_address + (rest[min(finer):] if finer else "")
