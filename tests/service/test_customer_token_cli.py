"""./kefu.sh customer-token PHONE: signs a token the actions accept, for existing customers only."""
import pytest

from kefu import cli
from kefu.services import customers
from kefu.tokens import verify_customer_token


def test_prints_a_verifiable_token_for_an_existing_customer(session, clean_db, monkeypatch, capsys):
    owner, _ = customers.get_or_create_customer(session, "13900000601", name="何静")
    session.commit()
    monkeypatch.setenv("KEFU_DATABASE_URL", clean_db)
    cli.main(["customer-token", "139 0000 0601"])
    out = capsys.readouterr()
    token = out.out.strip()
    claims = verify_customer_token(token)
    assert claims["customer_id"] == owner.id and claims["phone"] == "13900000601"
    assert "/widget/demo?customer_token=" in out.err


def test_unknown_phone_is_refused(clean_db, monkeypatch, capsys):
    monkeypatch.setenv("KEFU_DATABASE_URL", clean_db)
    with pytest.raises(SystemExit) as info:
        cli.main(["customer-token", "13900000602"])
    assert "no customer with phone" in str(info.value.code)
    with pytest.raises(SystemExit) as info:
        cli.main(["customer-token", "12345"])
    assert "not a mainland mobile number" in str(info.value.code)
