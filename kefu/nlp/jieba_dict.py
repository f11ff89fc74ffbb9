"""jieba user dictionary: rendered from the catalogue, loaded into jieba once per process.

jieba keeps one global segmenter, shared by Rasa's JiebaTokenizer and spaCy's zh
tokenizer, so loading the dictionary anywhere in the process affects both.
"""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path
from typing import List, Optional, Set, Tuple

from kefu.nlp import paths
from kefu.nlp.catalogue import Catalogue
from kefu.nlp.config import JiebaSettings

_loaded: Set[str] = set()
_lock = threading.Lock()


def dictionary_entries(catalogue: Catalogue, settings: JiebaSettings) -> List[Tuple[str, int, str]]:
    """(word, freq, POS) for every catalogue term and service word, without duplicates."""
    words: List[Tuple[str, str]] = []
    for item in [*catalogue.products.values(), *catalogue.faults.values()]:
        for term in item.terms:
            words.append((term, settings.catalogue_pos))
            # SpaCy/Rasa may lower-case text (显示E1 -> 显示e1): keep that a word too.
            words.append((term.lower(), settings.catalogue_pos))
    for pos, service_words in settings.service_words.items():
        words.extend((word, pos) for word in service_words)
    unique = dict(reversed(words))  # first POS wins
    return [(word, settings.word_freq, unique[word]) for word in dict.fromkeys(w for w, _ in words)]


def render_userdict(catalogue: Catalogue, settings: JiebaSettings) -> str:
    # No header comment: jieba would read "#" as a word.
    return "".join(f"{word} {freq} {pos}\n" for word, freq, pos in dictionary_entries(catalogue, settings))


def load_userdict_text(text: str) -> bool:
    """Add the words to jieba's global segmenter; False if this text was loaded before."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    with _lock:
        if digest in _loaded:
            return False
        import jieba

        jieba.load_userdict(io.StringIO(text))
        _loaded.add(digest)
        return True


def load_userdict(path: Optional[Path] = None) -> bool:
    """Load ``build/jieba/userdict.txt`` (or ``path``) into jieba, once."""
    return load_userdict_text(Path(path or paths.userdict_path()).read_text("utf-8"))
