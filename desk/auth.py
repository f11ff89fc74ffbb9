"""Desk login: the agent accounts live in the service layer (kefu/services/agents.py).

This module keeps the desk's import path (`from desk.auth import authenticate`); the
functions are the service layer's own objects, not copies.
"""

from kefu.services.agents import (  # noqa: F401  (re-exported for the desk)
    MIN_PASSWORD_LENGTH,
    authenticate,
    create_agent,
    hash_password,
    revoke_sessions,
    set_password,
)
