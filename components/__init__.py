"""Kefu's custom Rasa NLU components (referenced from config.yml)."""
