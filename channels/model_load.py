"""Load Rasa's TensorFlow models for inference only (issue 13).

Rasa 3.6's ``RasaModel.load`` (DIETClassifier, ResponseSelector, TEDPolicy) builds each model
by *training it on one example* (``model.fit``) and only then reads the trained weights over
it. That traces the whole training graph and creates the Adam optimizer's two slot variables
for every weight: measured on Kefu's model, loading took 45 s and the server held 2.08 GB,
against 12.5 s and 0.91 GB without it, with bit-identical predictions.

``install()`` (called by channels/socketio.py, before Rasa loads the model) replaces it, for
serving only (``finetune_mode`` keeps Rasa's own path, which needs the optimizer): the
weights are read first (a TensorFlow checkpoint restores each variable when its layer is
built), then one prediction on Rasa's own example builds exactly the layers prediction
uses, as Rasa's load does after its weights are in. The optimizer's saved slots are not
read (``expect_partial``).
"""
from __future__ import annotations

from typing import Any, Optional, Text

import tensorflow as tf
from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel

from kefu.runtime.reliability import reliability_config

_rasa_load = RasaModel.load.__func__  # type: ignore[attr-defined]


def load_for_inference(
    cls: type,
    model_file_name: Text,
    model_data_example: RasaModelData,
    predict_data_example: Optional[RasaModelData] = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    """``RasaModel.load`` without the one-example training run (same arguments)."""
    if finetune_mode:
        return _rasa_load(cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs)
    config = kwargs.get("config", {})
    model = cls(*args, **kwargs)
    # compiled as Rasa does (a Keras model is predicted with its compile settings), but never fitted
    model.compile(optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)), run_eagerly=config.get(RUN_EAGERLY))
    model.load_weights(model_file_name).expect_partial()
    # builds the prediction layers (their weights restored as they are created) and traces
    # the prediction graph, as Rasa's load does with the same example
    model.run_inference(predict_data_example or model_data_example)
    return model


def install() -> bool:
    """Make Rasa load its TensorFlow models this way (idempotent). False when configured off."""
    if not reliability_config().inference.load_for_inference:
        return False
    RasaModel.load = classmethod(load_for_inference)  # type: ignore[method-assign]
    return True


def uninstall() -> None:
    RasaModel.load = classmethod(_rasa_load)  # type: ignore[method-assign]
