"""Signed customer tokens for signed-in pages (HMAC-SHA256, itsdangerous).

A token proves "this chat belongs to customer N with phone P" without a database
round trip; the key is KEFU_CUSTOMER_TOKEN_KEY (see kefu.settings).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Dict, Optional

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from kefu import clock
from kefu.errors import InvalidPhone
from kefu.services.customers import normalize_phone
from kefu.settings import get_secret, service_config

_SALT = "kefu.customer-token.v1"
_CLOCK_SKEW = dt.timedelta(seconds=60)


class _ClockSigner(TimestampSigner):
    """Stamps tokens with the product clock, the same clock that checks their expiry."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer(key: Optional[str]) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        key or get_secret("KEFU_CUSTOMER_TOKEN_KEY"),
        salt=_SALT,
        signer=_ClockSigner,
        signer_kwargs={"digest_method": hashlib.sha256},
    )


def sign_customer_token(
    customer_id: int, phone: str, ttl_seconds: Optional[int] = None, *, key: Optional[str] = None
) -> str:
    """A URL-safe token valid for ``ttl_seconds`` (default: tokens.customer_ttl_seconds)."""
    ttl = int(ttl_seconds or service_config().tokens.customer_ttl_seconds)
    return _serializer(key).dumps({"cid": int(customer_id), "phone": normalize_phone(phone), "ttl": ttl})


def verify_customer_token(
    token: str, *, key: Optional[str] = None, now: Optional[dt.datetime] = None
) -> Optional[Dict[str, Any]]:
    """Claims ``{customer_id, phone, issued_at, expires_at}``; None if forged, tampered or expired."""
    if not token or not isinstance(token, str):
        return None
    try:
        payload, issued_at = _serializer(key).loads(token, return_timestamp=True)
        expires_at = issued_at + dt.timedelta(seconds=int(payload["ttl"]))
        claims = {
            "customer_id": int(payload["cid"]),
            "phone": normalize_phone(payload["phone"]),
            "issued_at": issued_at,
            "expires_at": expires_at,
        }
    except (BadSignature, KeyError, TypeError, ValueError, InvalidPhone):
        return None
    now = now or clock.now()
    if not issued_at - _CLOCK_SKEW <= now < expires_at:
        return None
    return claims


# --- Per-conversation history tokens (issue 11, item 9) ---------------------------------
# The socket.io channel gives one to the widget when a conversation starts; the history API
# (widget/app.py) answers only for the conversation the token names.
_HISTORY_SALT = "kefu.history-token.v1"


def _history_serializer(key: Optional[str]) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key or get_secret("KEFU_CUSTOMER_TOKEN_KEY"), salt=_HISTORY_SALT,
                                  signer=_ClockSigner, signer_kwargs={"digest_method": hashlib.sha256})


def sign_history_token(conversation_id: str, *, key: Optional[str] = None) -> str:
    return _history_serializer(key).dumps({"conv": str(conversation_id)})


def verify_history_token(token: Optional[str], conversation_id: str, *, key: Optional[str] = None,
                         now: Optional[dt.datetime] = None) -> bool:
    """True only for an untampered, unexpired token issued for this conversation."""
    if not token or not isinstance(token, str) or not conversation_id:
        return False
    try:
        payload, issued_at = _history_serializer(key).loads(token, return_timestamp=True)
    except (BadSignature, TypeError, ValueError):
        return False
    if not isinstance(payload, dict) or payload.get("conv") != str(conversation_id):
        return False
    now = now or clock.now()
    ttl = dt.timedelta(seconds=int(service_config().tokens.history_ttl_seconds))
    return issued_at - _CLOCK_SKEW <= now < issued_at + ttl
