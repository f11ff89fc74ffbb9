"""The trainer workflow: train, evaluate, compare, roll out (see docs/trainers.md)."""
