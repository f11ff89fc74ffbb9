"""Kefu's custom actions (rasa_sdk). Thin by design: validation and calls into kefu/."""
