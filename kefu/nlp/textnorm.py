"""Normalisation of real customer chat text for the NLU, with an offset map.

``normalize_text`` turns what customers actually type into the style the NLU was
trained on:

- URLs, ``@mentions``, ``#hashtags#`` and social-media location tails are removed;
- full-width letters, digits and punctuation become half-width;
- Traditional characters become Simplified (OpenCC ``t2s``);
- chat slang and homophones are mapped from a data file (``config/chat_slang.yml``:
  木有 -> 没有, 肿么 -> 怎么 …);
- runs of punctuation and of emoji collapse to one character, whitespace runs to one space;
- a greeting before and thanks after a request are cut off (``normalizer`` in
  kefu/nlp/nlp_defaults.yml), so that "你好，保修多久啊，谢谢" reads as the question it is.

Every output character remembers the span of the original text it came from
(``Normalized.to_original``), so entity offsets found in the normalised text can be
mapped back into the customer's own text. Pure functions; no Rasa imports.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

from kefu.nlp.normalize import to_halfwidth
from kefu.nlp.paths import config_dir

# One output character and the [start, end) span of the original text it stands for.
Piece = Tuple[str, int, int]

_URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+|\b[a-z0-9\-]+\.(?:cn|com|net)/[A-Za-z0-9/._\-]*",
                  re.IGNORECASE)
# "@暖风家电客服 " / "@小暖:" -- a mention ends at whitespace or punctuation.
_MENTION = re.compile(r"@[^\s@#，,。:：!！?？、;；]{1,30}[:：]?")
# "#热水器坏了#" -- Weibo topics are delimited on both sides.
_HASHTAG = re.compile(r"#[^#\n]{1,40}#")
# Weibo-style location tails: "我在:北京·朝阳区", "位置：上海", " 北京·三里屯" at the very end.
_LOCATION_TAIL = re.compile(r"\s*(?:(?:我在这里|我在|位置|定位)\s*[:：]\s*\S*|\s\S{1,12}·\S{1,16})\s*$")
_PUNCT = "!?.,~。，！？、…~～;；:：-—·"
_PUNCT_RUN = re.compile(f"([{re.escape(_PUNCT)}])[{re.escape(_PUNCT)}]+")
_EMOJI_CHARS = (
    "\U0001F000-\U0001FAFF"  # pictographs, emoticons, transport, symbols & pictographs ext.
    "\u2600-\u27BF"          # misc symbols, dingbats
    "\u2B00-\u2BFF"          # arrows, stars
    "\uFE0F\u200D"           # variation selector, zero-width joiner
)
_EMOJI_RUN = re.compile(f"([{_EMOJI_CHARS}])[{_EMOJI_CHARS}]+")
_SPACES = re.compile(r"\s{2,}")


@dataclass(frozen=True)
class Normalized:
    original: str
    text: str
    spans: Tuple[Tuple[int, int], ...]  # per character of ``text``: its [start, end) in ``original``

    @property
    def changed(self) -> bool:
        return self.text != self.original

    def to_original(self, start: int, end: int) -> Tuple[int, int]:
        """An entity's [start, end) in ``text`` -> the covering [start, end) in ``original``."""
        if not self.spans:
            return 0, 0
        start = min(max(start, 0), len(self.spans) - 1)
        end = min(max(end, start + 1), len(self.spans))
        return self.spans[start][0], self.spans[end - 1][1]

    def to_normalized(self, start: int, end: int) -> Optional[Tuple[int, int]]:
        """An annotation's [start, end) in ``original`` -> [start, end) in ``text`` (None if removed)."""
        inside = [i for i, (s, e) in enumerate(self.spans) if s < end and e > start]
        if not inside:
            return None
        return inside[0], inside[-1] + 1


@functools.lru_cache(maxsize=None)
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional -> Simplified Chinese (OpenCC t2s)."""
    return _converter().convert(text) if text else text


def slang_path() -> Path:
    return config_dir() / "chat_slang.yml"


@functools.lru_cache(maxsize=None)
def load_slang(path: Optional[str] = None) -> Dict[str, str]:
    """The slang/homophone table: {chat form: standard form} (validated: non-empty strings)."""
    data = yaml.safe_load(Path(path or slang_path()).read_text(encoding="utf-8")) or {}
    table: Dict[str, str] = {}
    for group, mapping in (data.get("groups") or {}).items():
        if not isinstance(mapping, dict):
            raise ValueError(f"{path or slang_path()}: group {group!r} must map chat forms to standard forms")
        for source, target in mapping.items():
            if not isinstance(source, str) or not isinstance(target, str) or not source or not target:
                raise ValueError(f"{path or slang_path()}: bad entry {source!r}: {target!r} in {group!r}")
            table[source] = target
    return table


@functools.lru_cache(maxsize=None)
def _slang_pattern(path: Optional[str] = None) -> Optional[re.Pattern]:
    table = load_slang(path)
    if not table:
        return None
    def alternative(key: str) -> str:
        # ASCII forms (3q, thx) only as whole words: never inside a model or order number
        return rf"(?<![A-Za-z0-9]){re.escape(key)}(?![A-Za-z0-9])" if key.isascii() else re.escape(key)

    return re.compile("|".join(alternative(k) for k in sorted(table, key=len, reverse=True)), re.IGNORECASE)


def _text(pieces: Sequence[Piece]) -> str:
    return "".join(p[0] for p in pieces)


def _sub(pieces: List[Piece], pattern: re.Pattern, replace) -> List[Piece]:
    """Apply ``pattern`` to the text of ``pieces``; ``replace(match)`` gives the new string.

    New characters take the original span of the whole match, so offsets stay
    inside the customer's text."""
    text = _text(pieces)
    out: List[Piece] = []
    last = 0
    for match in pattern.finditer(text):
        out.extend(pieces[last:match.start()])
        new = replace(match)
        if new and match.end() > match.start():
            span_start, span_end = pieces[match.start()][1], pieces[match.end() - 1][2]
            if len(new) == match.end() - match.start():  # same length: keep per-character spans
                out.extend((ch, *pieces[match.start() + i][1:]) for i, ch in enumerate(new))
            else:
                out.extend((ch, span_start, span_end) for ch in new)
        last = match.end()
    out.extend(pieces[last:])
    return out


def _map_chars(pieces: List[Piece], convert) -> List[Piece]:
    text = _text(pieces)
    converted = convert(text)
    if len(converted) == len(text):
        return [(ch, s, e) for ch, (_, s, e) in zip(converted, pieces)]
    # a phrase conversion changed the length: convert character by character instead
    return [(convert(ch)[:1] or ch, s, e) for ch, s, e in pieces]


@functools.lru_cache(maxsize=1)
def _courtesy_edges() -> Tuple[re.Pattern, re.Pattern, int]:
    from kefu.nlp.config import load_settings

    cfg = load_settings().normalizer
    separators = f"[\\s{re.escape(_PUNCT)}]*"

    def alternatives(words: List[str]) -> str:
        return "|".join(map(re.escape, sorted(words, key=len, reverse=True)))

    # (?![a-z]): "hi" is no greeting in "hisense"; the punctuation before the thanks stays ("保修多久？")
    separator = f"[\\s{re.escape(_PUNCT)}]"
    opening = (f"(?:{alternatives(cfg.leading_courtesy)})(?![a-z])"
               f"|(?:{alternatives(cfg.leading_acknowledgements)}){separator}")  # "谢谢你们的服务" stays whole
    leading = re.compile(f"^(?:{separators}(?:{opening}))+{separators}", re.IGNORECASE)
    trailing = re.compile(f"(?:(?:{alternatives(cfg.trailing_courtesy)})(?![a-z]){separators})+$", re.IGNORECASE)
    return leading, trailing, cfg.min_content_chars


def _content_chars(text: str) -> int:
    return sum(1 for ch in text if ch.isalnum())


def _strip_courtesy_edges(pieces: List[Piece]) -> List[Piece]:
    leading, trailing, minimum = _courtesy_edges()
    for pattern in (leading, trailing):
        text = _text(pieces)
        match = pattern.search(text)
        if match and match.end() > match.start():
            rest = pieces[:match.start()] + pieces[match.end():]
            if _content_chars(_text(rest)) >= minimum:
                pieces = rest
    return pieces


def normalization_fingerprint(slang_file: Optional[str] = None) -> str:
    """A hash of everything ``normalize_text`` depends on besides its argument: the slang file,
    the NLP settings (defaults and operator overrides) and this module's code."""
    import hashlib

    from kefu.nlp.config import DEFAULTS_PATH, override_path

    digest = hashlib.sha256()
    for path in (Path(slang_file) if slang_file else slang_path(), DEFAULTS_PATH, override_path(), Path(__file__)):
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes() if path.is_file() else b"-")
    return digest.hexdigest()


def normalize_text(text: str, slang_file: Optional[str] = None) -> Normalized:
    pieces: List[Piece] = [(ch, i, i + 1) for i, ch in enumerate(text)]
    for pattern in (_URL, _HASHTAG, _MENTION, _LOCATION_TAIL):
        pieces = _sub(pieces, pattern, lambda m: " ")
    pieces = _map_chars(pieces, to_halfwidth)
    pieces = _map_chars(pieces, _converter().convert)
    slang = _slang_pattern(slang_file)
    if slang is not None:
        table = {k.lower(): v for k, v in load_slang(slang_file).items()}
        pieces = _sub(pieces, slang, lambda m: table[m.group().lower()])
    pieces = _sub(pieces, _PUNCT_RUN, lambda m: m.group(1))
    pieces = _sub(pieces, _EMOJI_RUN, lambda m: m.group(1))
    pieces = _sub(pieces, _SPACES, lambda m: " ")
    pieces = _strip_courtesy_edges(pieces)
    # strip
    while pieces and pieces[0][0].isspace():
        pieces.pop(0)
    while pieces and pieces[-1][0].isspace():
        pieces.pop()
    if not pieces:  # nothing but a mention/URL: keep the original rather than an empty message
        pieces = [(ch, i, i + 1) for i, ch in enumerate(text)]
    return Normalized(original=text, text=_text(pieces), spans=tuple((s, e) for _, s, e in pieces))
