"""A RegexEntityExtractor that keeps regexes nobody annotated.

Stock Rasa 3.6 keeps a regex only if some training example annotates its entity
(`use_only_entities=True`, RasaHQ/rasa#9439). Kefu deliberately does NOT annotate
regex-backed entities (phone, ticket_no, order_no, product_model) in the NLU data,
because DIET would then learn them too and return duplicates. This extractor keeps
the regexes named in its `entities` option regardless of annotations.
"""
from __future__ import annotations

from typing import Any, Dict, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.extractors.regex_entity_extractor import RegexEntityExtractor
from rasa.nlu.utils import pattern_utils
from rasa.shared.nlu.training_data.training_data import TrainingData


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class KefuRegexEntityExtractor(RegexEntityExtractor):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**RegexEntityExtractor.get_default_config(), "entities": []}

    def train(self, training_data: TrainingData) -> Resource:
        wanted = set(self._config["entities"])
        patterns = pattern_utils.extract_patterns(
            training_data,
            use_lookup_tables=self._config["use_lookup_tables"],
            use_regexes=self._config["use_regexes"],
            use_only_entities=False,
            use_word_boundaries=self._config["use_word_boundaries"],
        )
        self.patterns = [p for p in patterns if not wanted or p["name"] in wanted]
        self.persist()
        return self._resource
