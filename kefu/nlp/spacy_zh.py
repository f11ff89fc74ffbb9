"""spaCy ``zh`` pipeline: jieba tokenizer that carries the Kefu user dictionary, plus
an entity ruler for ``product`` and ``fault`` (entity id = canonical value).

Why a custom tokenizer: spaCy's zh tokenizer calls the global ``jieba`` module, and
the entity ruler re-tokenises its phrase patterns when the pipeline is loaded. Both
must see the user dictionary, whatever else (Rasa's JiebaTokenizer, or nothing) has
loaded it. This tokenizer stores the dictionary in the saved pipeline
(``tokenizer/jieba_userdict.txt``) and loads it into jieba in ``from_disk``, which
spaCy runs before any component, so ``spacy.load(path)`` alone is enough.

The registered name ``kefu.zh_jieba_tokenizer.v1`` must be resolvable when the
pipeline is loaded: either this module is imported first, or the project declares
the spaCy entry point (pyproject.toml)::

    [project.entry-points.spacy_tokenizers]
    "kefu.zh_jieba_tokenizer.v1" = "kefu.nlp.spacy_zh:create_tokenizer"
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List

import spacy
import srsly
from spacy.lang.zh import ChineseTokenizer
from spacy.language import Language
from spacy.util import registry
from spacy.vocab import Vocab

from kefu.nlp.catalogue import Catalogue
from kefu.nlp.jieba_dict import load_userdict_text

TOKENIZER_NAME = "kefu.zh_jieba_tokenizer.v1"
USERDICT_FILE = "jieba_userdict.txt"
PIPELINE_NAME = "kefu"


class JiebaUserDictTokenizer(ChineseTokenizer):
    """spaCy's jieba-segmenting ``ChineseTokenizer`` with a persisted user dictionary."""

    def __init__(self, vocab: Vocab, userdict: str = "") -> None:
        super().__init__(vocab, segmenter="jieba")
        self.userdict = ""
        if userdict:
            self.set_userdict(userdict)

    def set_userdict(self, text: str) -> None:
        self.userdict = text
        load_userdict_text(text)

    def to_disk(self, path: Any, **kwargs: Any) -> None:
        super().to_disk(path, **kwargs)
        (Path(path) / USERDICT_FILE).write_text(self.userdict, encoding="utf-8")

    def from_disk(self, path: Any, **kwargs: Any) -> "JiebaUserDictTokenizer":
        super().from_disk(path, **kwargs)
        userdict = Path(path) / USERDICT_FILE
        if userdict.exists():
            self.set_userdict(userdict.read_text("utf-8"))
        return self

    def to_bytes(self, **kwargs: Any) -> bytes:
        return srsly.msgpack_dumps({"base": super().to_bytes(**kwargs), "userdict": self.userdict})

    def from_bytes(self, data: bytes, **kwargs: Any) -> "JiebaUserDictTokenizer":
        msg = srsly.msgpack_loads(data)
        super().from_bytes(msg["base"], **kwargs)
        if msg["userdict"]:
            self.set_userdict(msg["userdict"])
        return self


@registry.tokenizers(TOKENIZER_NAME)
def create_tokenizer() -> Callable[[Language], JiebaUserDictTokenizer]:
    def make(nlp: Language) -> JiebaUserDictTokenizer:
        return JiebaUserDictTokenizer(nlp.vocab)

    return make


def entity_patterns(catalogue: Catalogue) -> List[Dict[str, str]]:
    patterns = [
        {"label": "product", "pattern": term, "id": product.name}
        for product in catalogue.products.values()
        for term in product.terms
    ]
    patterns += [
        {"label": "fault", "pattern": term, "id": fault.name}
        for fault in catalogue.faults.values()
        for term in fault.terms
    ]
    return patterns


def build_pipeline(catalogue: Catalogue, userdict: str, version: str = "1.0.0") -> Language:
    """Blank zh pipeline + entity ruler. Load it back with ``spacy.load(path)``."""
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER_NAME}}})
    # Before add_patterns: the patterns are tokenised with the user dictionary.
    nlp.tokenizer.set_userdict(userdict)
    # LOWER: Rasa's SpacyNLP lower-cases text by default (显示E1 vs 显示e1).
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns(entity_patterns(catalogue))
    nlp.meta.update(
        name=PIPELINE_NAME,
        version=version,
        description="Kefu zh: jieba with the catalogue user dictionary, entity ruler for product/fault",
    )
    return nlp
