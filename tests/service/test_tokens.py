import datetime as dt

import pytest

from kefu.errors import InvalidPhone
from kefu.tokens import sign_customer_token, verify_customer_token

KEY = "test-key-0123456789abcdef0123456789abcdef"


def test_valid_token_round_trip():
    token = sign_customer_token(42, "+86 139-1234-0001", ttl_seconds=600, key=KEY)
    claims = verify_customer_token(token, key=KEY)
    assert claims["customer_id"] == 42 and claims["phone"] == "13912340001"
    assert claims["expires_at"] - claims["issued_at"] == dt.timedelta(seconds=600)


def test_expired_token_is_rejected():
    token = sign_customer_token(42, "13912340001", ttl_seconds=600, key=KEY)
    issued = verify_customer_token(token, key=KEY)["issued_at"]
    assert verify_customer_token(token, key=KEY, now=issued + dt.timedelta(seconds=599)) is not None
    assert verify_customer_token(token, key=KEY, now=issued + dt.timedelta(seconds=600)) is None
    assert verify_customer_token(token, key=KEY, now=issued - dt.timedelta(hours=1)) is None  # from the future


def test_tampered_or_foreign_tokens_are_rejected():
    token = sign_customer_token(42, "13912340001", key=KEY)
    payload, timestamp, signature = token.split(".")
    other = sign_customer_token(43, "13912340001", key=KEY).split(".")[0]
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]  # not the last char: padding bits
    for forged in (f"{other}.{timestamp}.{signature}", f"{payload}.{timestamp}.{flipped}",
                   f"{payload}.{timestamp}", "", "not-a-token", None):
        assert verify_customer_token(forged, key=KEY) is None
    assert verify_customer_token(token, key="another-key") is None


def test_default_key_and_ttl_come_from_settings(monkeypatch):
    monkeypatch.setenv("KEFU_CUSTOMER_TOKEN_KEY", KEY)
    token = sign_customer_token(7, "13912340001")
    claims = verify_customer_token(token, key=KEY)
    assert claims["expires_at"] - claims["issued_at"] == dt.timedelta(days=1)  # tokens.customer_ttl_seconds
    monkeypatch.setenv("KEFU_CUSTOMER_TOKEN_KEY", "rotated")
    assert verify_customer_token(token) is None


def test_generated_key_works_without_environment(monkeypatch):
    monkeypatch.delenv("KEFU_CUSTOMER_TOKEN_KEY", raising=False)
    assert verify_customer_token(sign_customer_token(7, "13912340001"))["customer_id"] == 7


def test_invalid_phone_cannot_be_signed():
    with pytest.raises(InvalidPhone):
        sign_customer_token(7, "12345", key=KEY)
