"""Ticket numbers: ``<prefix><YYYYMMDD>-<serial>``, e.g. BX20261122-0042.

The serial comes from a per-prefix, per-day counter row bumped with one atomic
upsert (``INSERT .. ON CONFLICT DO UPDATE``). On PostgreSQL the row lock is held
until commit, on SQLite the whole write transaction is (BEGIN IMMEDIATE), so two
transactions never read the same serial.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kefu import numbers
from kefu.errors import InvalidTicketNo
from kefu.models import TicketCounter
from kefu.settings import ServiceConfig

_DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


format_ticket_no = numbers.format_ticket_no  # the format itself lives in kefu/numbers.py


def parse_ticket_no(raw: object, config: ServiceConfig) -> str:
    """Canonical ticket number (upper case, no spaces) or InvalidTicketNo."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(raw or ""))).upper()
    match = numbers.ticket_no_re(tuple(t.prefix for t in config.ticket_types.values())).fullmatch(text)
    if not match or config.type_for_prefix(match.group(1)) is None:
        raise InvalidTicketNo("malformed ticket number", value=str(raw or ""))
    try:
        dt.datetime.strptime(match.group(2), numbers.TICKET_DATE_FORMAT)
    except ValueError:
        raise InvalidTicketNo("ticket number has an impossible date", value=text) from None
    return text


def next_serial(session: Session, prefix: str, day: dt.date) -> int:
    """Reserve the next serial for ``prefix`` on ``day`` (held until the transaction ends)."""
    table = TicketCounter.__table__
    dialect = session.get_bind().dialect.name
    insert = _DIALECT_INSERT.get(dialect)
    if insert is None:
        raise NotImplementedError(f"ticket numbering supports PostgreSQL and SQLite, not {dialect}")
    key = {"prefix": prefix, "day": f"{day:%Y%m%d}"}
    upsert = insert(table).values(**key, last_serial=1).on_conflict_do_update(
        index_elements=[table.c.prefix, table.c.day],
        set_={"last_serial": table.c.last_serial + 1},
    )
    if dialect == "postgresql":
        return session.execute(upsert.returning(table.c.last_serial)).scalar_one()
    session.execute(upsert)  # SQLAlchemy 1.4 has no RETURNING for SQLite
    return session.execute(
        select(table.c.last_serial).where(table.c.prefix == prefix, table.c.day == key["day"])
    ).scalar_one()
