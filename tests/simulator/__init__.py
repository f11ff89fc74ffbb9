"""Conversation simulator (issue 10 section 3): generated customer conversations run
against the real stack, with per-turn invariants. See tests/simulator/README.md."""
