"""Text normalisation at the front of the NLU pipeline, and offsets mapped back at its end.

``KefuTextNormalizer`` (first in the pipeline) replaces the message text with
``kefu.nlp.textnorm.normalize_text(text)`` — Traditional -> Simplified (OpenCC),
full-width -> half-width, chat slang, mentions/hashtags/URLs removed, punctuation and
emoji runs collapsed — so tokenizer, featurizers, classifiers and entity extractors all
see the same normalised text. Training examples are normalised the same way and their
entity annotations moved to the normalised offsets.

``KefuTextRestorer`` (last in the pipeline) puts the customer's original text back and
maps every entity's ``start``/``end`` into it (the entity ``value`` stays normalised,
e.g. Simplified), so the tracker, the desk transcript and any offset consumer see what
the customer really typed. The normalised text stays available as ``text_normalized``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_END, ENTITY_ATTRIBUTE_START, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from kefu.nlp.textnorm import Normalized, normalization_fingerprint, normalize_text

ORIGINAL_KEY = "kefu_normalization"  # the Normalized object, internal to the pipeline
NORMALIZED_TEXT = "text_normalized"  # in the parse result


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class KefuTextNormalizer(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"slang_file": None}  # default: config/chat_slang.yml

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._slang_file: Optional[str] = config.get("slang_file")

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """Rasa's training cache keys this step on its config only: the slang list and the NLP
        settings it reads (and the code that applies them) are part of its fingerprint, so that
        a changed normalisation is trained, not taken from the cache."""
        return normalization_fingerprint(config.get("slang_file"))

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "KefuTextNormalizer":
        return cls(config)

    def _normalize(self, text: str) -> Normalized:
        return normalize_text(text, self._slang_file)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            text = example.get(TEXT)
            if not text:
                continue
            norm = self._normalize(text)
            if not norm.changed:
                continue
            entities = []
            for entity in example.get(ENTITIES) or []:
                moved = norm.to_normalized(entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END])
                if moved is not None:
                    entities.append({**entity, ENTITY_ATTRIBUTE_START: moved[0], ENTITY_ATTRIBUTE_END: moved[1]})
            example.set(TEXT, norm.text)
            if example.get(ENTITIES):
                example.set(ENTITIES, entities)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            norm = self._normalize(text)
            message.set(ORIGINAL_KEY, norm)
            message.set(NORMALIZED_TEXT, norm.text, add_to_output=True)
            message.set(TEXT, norm.text)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class KefuTextRestorer(GraphComponent):
    """Must be the last component: original text back, entity offsets into it."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "KefuTextRestorer":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            norm = message.get(ORIGINAL_KEY)
            if not isinstance(norm, Normalized):
                continue
            restored = []
            for entity in message.get(ENTITIES) or []:
                if ENTITY_ATTRIBUTE_START in entity and ENTITY_ATTRIBUTE_END in entity:
                    start, end = norm.to_original(entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END])
                    entity = {**entity, ENTITY_ATTRIBUTE_START: start, ENTITY_ATTRIBUTE_END: end}
                restored.append(entity)
            if message.get(ENTITIES) is not None:
                message.set(ENTITIES, restored, add_to_output=True)
            message.set(TEXT, norm.original)
            message.data.pop(ORIGINAL_KEY, None)
        return messages
