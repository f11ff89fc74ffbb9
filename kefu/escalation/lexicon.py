"""Operator-editable word lists (config/lexicons/*.txt) matched over jieba tokens.

Matching runs on tokens, not substrings, so 滚 (abuse) does not fire inside 滚筒洗衣机.
Every lexicon term is added to jieba's dictionary so that it stays one token in any
context (otherwise 气死我了 could segment differently inside a longer sentence).
spaCy is imported lazily: importing it pulls in TensorFlow via thinc, and the desk
never needs it.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

from kefu.errors import ConfigError

_SPACES = re.compile(r"\s+")
_lock = threading.Lock()


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, no spaces (人 工 -> 人工, １２３１５ -> 12315)."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text or "")).lower()


@lru_cache(maxsize=1)
def _nlp() -> Any:
    import spacy

    return spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})


def read_terms(path: Path) -> list[str]:
    """One term per line; blank lines and ``#`` comments are skipped."""
    terms: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        term = normalise(line.split("#", 1)[0])
        if term and term not in terms:
            terms.append(term)
    return terms


def _ascii_alnum(char: str) -> bool:
    """Characters of phone, ticket and model numbers (BX20261122-0042, KFR-35GW/BpR3)."""
    return len(char) == 1 and char.isascii() and (char.isalnum() or char in "-/_")


def _inside_ascii_word(text: str, start: int, end: int) -> bool:
    """12345 inside the phone 13812345678 (jieba may split digits there) is no match."""
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    return (_ascii_alnum(text[start]) and _ascii_alnum(before)) or (_ascii_alnum(text[end - 1]) and _ascii_alnum(after))


class Lexicons:
    """All ``*.txt`` word lists of one directory, keyed by file stem."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise ConfigError(f"lexicon directory {self.directory} does not exist")
        self.terms: dict[str, list[str]] = {
            path.stem: read_terms(path) for path in sorted(self.directory.glob("*.txt"))
        }
        self._matcher = self._build_matcher()

    def _build_matcher(self) -> Any:
        import jieba
        from spacy.matcher import PhraseMatcher

        nlp = _nlp()
        with _lock:  # jieba's dictionary is process-global
            for terms in self.terms.values():
                for term in terms:
                    if len(term) > 1:
                        jieba.add_word(term)
        matcher = PhraseMatcher(nlp.vocab)
        for name, terms in self.terms.items():
            if terms:
                matcher.add(name, list(nlp.tokenizer.pipe(terms)))
        return matcher

    def names(self) -> set[str]:
        return set(self.terms)

    def match(self, text: str) -> dict[str, list[str]]:
        """Lexicon name -> distinct terms found in ``text``, in order of appearance."""
        doc = _nlp().make_doc(normalise(text))
        found: dict[str, list[str]] = {}
        for match_id, start, end in self._matcher(doc):
            span = doc[start:end]
            if _inside_ascii_word(doc.text, span.start_char, span.end_char):
                continue
            name = doc.vocab.strings[match_id]
            term = span.text
            if term not in found.setdefault(name, []):
                found[name].append(term)
        return found

    @staticmethod
    def signature(directory: Path) -> tuple[tuple[str, int], ...]:
        """File names and mtimes: changes when an operator edits, adds or removes a list."""
        return tuple(
            (path.name, path.stat().st_mtime_ns) for path in sorted(Path(directory).glob("*.txt"))
        )
