"""spaCy ``zh`` pipeline: blank Chinese with the jieba segmenter plus an entity ruler
for ``product`` and ``fault`` (entity id = canonical catalogue value).

The load-order problem: spaCy's zh tokenizer calls the *global* ``jieba`` module,
whose segmentation changes once the Kefu user dictionary is loaded (不制冷 is one
token with it, 不|制冷 without). Phrase patterns would be re-tokenised inside
``spacy.load`` with whatever jieba state the process has at that moment (Rasa
loads SpacyNLP and JiebaTokenizer in an unspecified order), and could then
disagree with how messages are tokenised later.

So the ruler gets *token* patterns, fixed at build time and never re-tokenised,
for both states: each term as jieba segments it with the user dictionary and as
it segments it without. The saved pipeline uses only built-in spaCy factories
(no registered code to import inside Rasa) and matches whether the dictionary is
loaded before ``spacy.load``, after it, or never.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

import jieba
import spacy
from spacy.language import Language

from kefu.nlp import paths
from kefu.nlp.catalogue import Catalogue
from kefu.nlp.jieba_dict import load_userdict

PIPELINE_NAME = "kefu"
TOKENIZER_CONFIG = {"nlp": {"tokenizer": {"segmenter": "jieba"}}}


def _segmenters(userdict: str) -> List[jieba.Tokenizer]:
    """Private jieba instances (the global one is left untouched): without and with the dictionary."""
    plain = jieba.Tokenizer()
    with_dict = jieba.Tokenizer()
    with_dict.load_userdict(io.StringIO(userdict))
    return [plain, with_dict]


def _segmentations(term: str, segmenters: Iterable[jieba.Tokenizer]) -> Set[Tuple[str, ...]]:
    # Same call as spaCy's ChineseTokenizer; lower-cased because the ruler matches LOWER
    # and Rasa's SpacyNLP lower-cases text (显示E1 -> 显示e1 may segment differently).
    return {
        tuple(token.lower() for token in seg.cut(form, cut_all=False) if token)
        for seg in segmenters
        for form in (term, term.lower())
    }


def entity_patterns(catalogue: Catalogue, userdict: str) -> List[Dict[str, object]]:
    """EntityRuler token patterns: every term in every segmentation, id = canonical value."""
    segmenters = _segmenters(userdict)
    items = [("product", p) for p in catalogue.products.values()]
    items += [("fault", f) for f in catalogue.faults.values()]
    patterns = []
    for label, item in items:
        for term in item.terms:
            for tokens in sorted(_segmentations(term, segmenters)):
                patterns.append({"label": label, "pattern": [{"LOWER": t} for t in tokens], "id": item.name})
    return patterns


def build_pipeline(catalogue: Catalogue, userdict: str, version: str = "1.0.0") -> Language:
    """Blank zh (jieba) + entity ruler; save with ``to_disk``, load with ``spacy.load``."""
    nlp = spacy.blank("zh", config=TOKENIZER_CONFIG)
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(entity_patterns(catalogue, userdict))
    nlp.meta.update(
        name=PIPELINE_NAME,
        version=version,
        description="Kefu zh: jieba segmenter, entity ruler for catalogue products and faults",
    )
    return nlp


def load_pipeline(path: Optional[Path] = None, userdict: Optional[Path] = None) -> Language:
    """Load the saved pipeline for use outside Rasa, with jieba's user dictionary loaded
    first so spaCy tokens match Rasa's JiebaTokenizer tokens."""
    load_userdict(userdict)
    return spacy.load(path or paths.spacy_model_dir())
