"""The board's read model: what a waiting-room screen may know.

Everything here is allow-listed: ticket numbers, lines, rooms, consultants'
display names, waits, and a masked name only when the clinic turns that on.
Never a phone number, a full name or a health answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from lobby.domain.privacy import mask_name
from lobby.domain.waits import FIRST_PER_LINE, QueueSnapshot
from lobby.models import Line, Visit, VisitKind, VisitStatus

S = VisitStatus
RECENT_CALLS = 5
WAITING_SHOWN = 5  # two rows of tickets per line at a size read from 5 m; the count says the rest
assert WAITING_SHOWN <= FIRST_PER_LINE


@dataclass(frozen=True)
class Call:
    ticket: str
    line_code: str
    room: str | None
    consultant: str | None
    masked_name: str
    at: dt.datetime
    recall: bool


@dataclass(frozen=True)
class WaitingTicket:
    ticket: str
    masked_name: str


@dataclass(frozen=True)
class LineBoard:
    line: Line
    waiting: int
    expected_wait_minutes: int | None  # None: nobody on duty can serve this line now
    next_tickets: list[WaitingTicket]
    expected_wait_max_minutes: int | None = None


@dataclass(frozen=True)
class Board:
    clinic_name: str
    calls: list[Call]
    lines: list[LineBoard] = field(default_factory=list)

    def for_line(self, code: str | None) -> Board:
        """The same board limited to one line (a screen above that line's corridor)."""
        if not code:
            return self
        return Board(self.clinic_name, [c for c in self.calls if c.line_code == code],
                     [lb for lb in self.lines if lb.line.code == code])


def _called_at(visit: Visit) -> dt.datetime:
    return max(t for t in (visit.called_at, visit.recalled_at) if t is not None)


def build_board(session: Session, snapshot: QueueSnapshot, day: dt.date, clinic_name: str,
                show_masked_names: bool) -> Board:
    def shown_name(visit: Visit) -> str:
        return mask_name(visit.client.name) if show_masked_names and visit.client is not None else ""

    called = session.scalars(
        select(Visit)
        .where(Visit.clinic_day == day, Visit.called_at.is_not(None), Visit.kind != VisitKind.COMPANION,
               Visit.status.in_([S.CALLED, S.WITH_CONSULTANT, S.WITH_DOCTOR]))
        .order_by(func.coalesce(Visit.recalled_at, Visit.called_at).desc())
        .limit(RECENT_CALLS * 3)
        .options(selectinload(Visit.consultant), selectinload(Visit.client), selectinload(Visit.line))
    ).all()
    calls = sorted(
        (Call(v.ticket, v.line.code, v.consultant.room if v.consultant else None,
              v.consultant.display_name if v.consultant else None, shown_name(v), _called_at(v),
              v.recall_count > 0)
         # A visit read waiting earlier in this same read (PostgreSQL's read committed: each
         # statement sees the latest commits) keeps what it was read with: its call shows at
         # the publish its own commit brings.
         for v in called if v.called_at is not None or v.recalled_at is not None),
        key=lambda c: c.at, reverse=True,
    )[:RECENT_CALLS]
    lines = []
    for line, wait in snapshot.lines(session):
        first = snapshot.first_waiting(line.id)[:WAITING_SHOWN]
        lines.append(LineBoard(line, wait.waiting, wait.minutes,
                               [WaitingTicket(v.ticket, shown_name(v)) for v in first],
                               wait.upper))
    return Board(clinic_name, calls, lines)
