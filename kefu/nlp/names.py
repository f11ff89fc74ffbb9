"""Customer names as customers give them: "我姓张", "免贵姓欧阳", "我叫张三", "张".

A surname alone is kept as the surname ("张"): the customer's gender is unknown, so no
先生/女士 is ever added; a 先生/女士 the customer said is kept ("我是王女士"). The words
are in config/dialogue.yml ``names`` (not nlp_defaults.yml: changing them needs no retrain).
"""
from __future__ import annotations

import re
from typing import Optional

from kefu.dialogue_config import NameWords, dialogue_config

_HAN = "\u4e00-\u9fff"
_SPACE = re.compile(r"\s+")
# What may follow a surname the customer said: the end, a separator, or anything but a
# character that would make it part of a longer word ("姓张三" is handled as a full name).
_SEPARATORS = r"[\s,，。.、;；:：!！?？~～(（)）]"


def _alternatives(words) -> str:
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


def _words(words: Optional[NameWords]) -> NameWords:
    return words or dialogue_config().names


def _surname(words: NameWords) -> str:
    not_surnames = "".join(map(re.escape, words.not_surnames))
    single = f"[{_HAN}]" if not not_surnames else f"(?![{not_surnames}])[{_HAN}]"
    compound = _alternatives(words.compound_surnames)
    return f"(?:{compound}|{single})" if compound else single


def _name_pattern(words: NameWords, min_chars: int) -> str:
    return rf"[{_HAN}]{{{min_chars},{words.max_chars}}}(?:·[{_HAN}]{{1,{words.max_chars}}})*"


def _compact(text: str, words: NameWords) -> str:
    text = _SPACE.sub("", text or "")
    text = re.sub(f"{_SEPARATORS}+$", "", text)
    tails = _alternatives(words.name_tails)
    return re.sub(f"(?:{tails})$", "", text) if tails else text


def surname_said(text: str, words: Optional[NameWords] = None) -> Optional[str]:
    """The surname the customer gives in a message ("我姓张 空调坏了", "免贵姓欧阳", a
    message starting with "姓李"); the last one if several. Not a third person's ("那个姓赵的
    师傅") and not a denied one ("我姓刘不姓王" is 刘)."""
    words = _words(words)
    intros = _alternatives(words.surname_intros)
    compact = _SPACE.sub("", text or "")
    pattern = re.compile(rf"(?:(?:{intros})|^姓)(?P<surname>{_surname(words)})")
    found = [m.group("surname") for m in pattern.finditer(compact)]
    return found[-1] if found else None


def introduced_name(text: str, words: Optional[NameWords] = None) -> Optional[str]:
    """The name of a message that only introduces the customer: "我姓张" (张), "免贵姓欧阳",
    "我叫张三", "我是王大明"; None for anything else, a bare name included (typed at another
    question, "张三" may be anything)."""
    words = _words(words)
    compact = _compact(text, words)
    surname = re.fullmatch(rf"(?:{_alternatives(words.surname_intros)}|姓)(?P<surname>{_surname(words)})"
                           rf"(?:{_SEPARATORS}.*)?", compact)
    if surname:
        return surname.group("surname")
    name = re.fullmatch(rf"(?:{_alternatives(words.name_intros)})[:：]?(?P<name>{_name_pattern(words, 2)})", compact)
    return name.group("name") if name else None


def person_name(value: str, words: Optional[NameWords] = None) -> Optional[str]:
    """The name in ``value``, a text known to name the customer (the NLU's person_name, the
    answer to a name question): "张", "姓张" and "我姓张" are 张, "我叫张三" is 张三,
    "我姓欧阳" is 欧阳. None if it holds no name."""
    words = _words(words)
    introduced = introduced_name(value, words)
    if introduced:
        return introduced
    compact = _compact(value, words)
    if compact.startswith(("姓", *words.surname_intros, *words.name_intros)):
        return None  # an introduction without a name in it ("我叫", "姓名")
    return compact if re.fullmatch(_name_pattern(words, 1), compact) else None
