"""Ticket numbers: consecutive per line per clinic day, safe under concurrency.

One upsert on the (line, day) counter row both creates and increments it and
returns the new number. On PostgreSQL the row lock taken by ON CONFLICT DO
UPDATE serialises concurrent check-ins on the same line until commit; on
SQLite every transaction is BEGIN IMMEDIATE (see database.py). The unique
constraint on visits (line, day, number) is the backstop.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..models import Line, TicketCounter

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def next_number(session: Session, line: Line, day: dt.date) -> int:
    dialect = session.get_bind().dialect.name
    insert = _INSERTS[dialect]
    stmt = (
        insert(TicketCounter)
        .values(line_id=line.id, clinic_day=day, last_number=1)
        .on_conflict_do_update(
            index_elements=[TicketCounter.line_id, TicketCounter.clinic_day],
            set_={"last_number": TicketCounter.last_number + 1},
        )
        .returning(TicketCounter.last_number)
    )
    return session.execute(stmt).scalar_one()


def move_to_line(session: Session, visit, line: Line) -> None:
    """The visit takes the next ticket of `line` (a reassignment, a browsing visitor turned walk-in)."""
    visit.line = line
    visit.number = next_number(session, line, visit.clinic_day)
    visit.ticket = ticket_label(line, visit.number)


def ticket_label(line: Line, number: int) -> str:
    """B + 7 -> B007."""
    return f"{line.prefix}{number:03d}"
