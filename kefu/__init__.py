"""Kefu service layer: settings, database, models, services.

This package never imports rasa or rasa_sdk, so the desk, the seed script and the
tests run without TensorFlow.
"""

__version__ = "0.1.0"
