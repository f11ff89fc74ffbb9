import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from kefu import db
from kefu.errors import ServiceUnavailable
from kefu.models import Customer, RegisteredProduct

TZ = ZoneInfo("Asia/Shanghai")


def test_session_scope_commits_or_rolls_back(clean_db):
    with db.session_scope(clean_db) as session:
        session.add(Customer(phone="13800000001"))
    with pytest.raises(RuntimeError):
        with db.session_scope(clean_db) as session:
            session.add(Customer(phone="13800000002"))
            session.flush()
            raise RuntimeError("boom")
    with db.session_scope(clean_db) as session:
        phones = session.execute(select(Customer.phone)).scalars().all()
    assert phones == ["13800000001"]


def test_foreign_keys_are_enforced(session):
    session.add(RegisteredProduct(customer_id=999_999, category="空调"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_datetimes_round_trip_as_aware_utc(clean_db):
    created = dt.datetime(2026, 11, 23, 10, 30, tzinfo=TZ)
    with db.session_scope(clean_db) as session:
        session.add(Customer(phone="13800000003", created_at=created))
    with db.session_scope(clean_db) as session:
        stored = session.execute(select(Customer.created_at)).scalar_one()
    assert stored == created and stored.tzinfo == dt.timezone.utc
    with pytest.raises(Exception, match="naive datetime"):
        with db.session_scope(clean_db) as session:
            session.add(Customer(phone="13800000004", created_at=dt.datetime(2026, 11, 23)))


def test_sqlite_connection_settings(tmp_path):
    url = f"sqlite:///{tmp_path / 'sub' / 'k.db'}"  # parent directory is created
    with db.get_engine(url).connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_TIMEOUT_MS
    assert db.get_engine(url) is db.get_engine(url)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg2://postgres@127.0.0.1:1/kefu",  # nothing listens on port 1
        "sqlite:///{tmp}",  # a directory cannot be opened as a database
    ],
    ids=["postgresql-closed-port", "sqlite-unopenable"],
)
def test_database_down_raises_service_unavailable(url, tmp_path):
    url = url.format(tmp=tmp_path)
    with pytest.raises(ServiceUnavailable) as info:
        with db.session_scope(url) as session:
            session.execute(text("SELECT 1"))
    assert info.value.code == "service_unavailable"
    with pytest.raises(ServiceUnavailable):
        db.ping(url)
    with pytest.raises(ServiceUnavailable):
        db.migrate(url)


def test_ping_and_unrelated_errors_pass_through(clean_db):
    db.ping(clean_db)
    with pytest.raises(IntegrityError):  # not a connection problem: not ServiceUnavailable
        with db.session_scope(clean_db) as session:
            session.add_all([Customer(phone="13800000005"), Customer(phone="13800000005")])
