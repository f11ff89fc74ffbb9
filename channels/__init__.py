"""Rasa input channels used by Kefu (referenced from credentials.yml)."""
