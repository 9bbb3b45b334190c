"""The front desk's read model: the live waiting list as staff see it (full names, flags)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..models import (
    Client,
    HealthQuestionnaire,
    Role,
    Staff,
    Visit,
    VisitKind,
    VisitStatus,
)
from . import triage
from .dispatch import DESK_KINDS
from .duty import DutyBoard
from .settings import get_settings
from .visits import ACTIVE, QUEUED
from .waits import NOBODY_ON_DUTY, QueueSnapshot

S = VisitStatus
# Skipped visitors stay on the desk's list for the day, so they can be put back in the queue.
ON_THE_LIST = ACTIVE + (S.NO_SHOW,)


@dataclass(frozen=True)
class Alert:
    """Something the desk must do for a visitor: find the surgeon, tell them their consultant is out..."""

    code: str  # find_surgeon, surgeon_absent, assignee_absent, nobody_on_duty
    who: str | None = None  # the absent person's name
    back_at: object = None  # when they are back today, if known
    others: tuple[str, ...] = ()  # who else fits and is on duty
    away: bool = False  # away (coming back) rather than off


@dataclass(frozen=True)
class DeskRow:
    visit: Visit
    waited_minutes: int
    expected_wait_minutes: int | None
    position: int
    flags: list[str]
    companions: int
    long_wait: bool
    alerts: tuple[Alert, ...] = ()
    days_since_surgery: int | None = None
    expected_wait_upper: int | None = None


def who_else_fits(visit: Visit, board: DutyBoard) -> tuple[str, ...]:
    """Colleagues on duty who could take this visitor instead (names, free ones first)."""
    if visit.line.post_op:
        people = [m for m in board.serving(Role.DOCTOR)]
    else:
        wanted = triage.wanted_specialties(visit.line, visit.service)
        people = [m for m in board.serving(Role.CONSULTANT) if triage.fits(m, wanted)]
    people.sort(key=lambda m: (board.of(m).status.value != "available", m.rotation_order, m.id))
    return tuple(m.display_name for m in people if m.id != visit.consultant_id)


def alerts_for(visit: Visit, board: DutyBoard, estimate) -> tuple[Alert, ...]:
    """What the desk must act on for a queued visitor, read from today's duty (never stored: a
    consultant coming back clears it by itself)."""
    if visit.status not in QUEUED:
        return ()
    alerts = []
    client = visit.client
    if visit.line.post_op and visit.consultant is None:
        if client is None or client.surgeon is None:
            alerts.append(Alert("find_surgeon", others=who_else_fits(visit, board)))
        else:
            alerts.append(Alert("surgeon_absent", client.surgeon.display_name, board.of(client.surgeon).back_at,
                                who_else_fits(visit, board)))
    elif visit.consultant is not None and board.of(visit.consultant).absent:
        duty = board.of(visit.consultant)
        alerts.append(Alert("assignee_absent", visit.consultant.display_name, duty.back_at,
                            who_else_fits(visit, board), away=duty.status.value == "away"))
    if estimate.reason == NOBODY_ON_DUTY and not visit.line.post_op:
        alerts.append(Alert("nobody_on_duty"))
    return tuple(alerts)


@dataclass(frozen=True)
class DeskList:
    rows: list[DeskRow]
    long_waits: int
    waiting: int


def matches(visit: Visit, term: str) -> bool:
    """The desk's search: a ticket (A043, or its start), a name or part of it, the last digits of
    a phone number, or the consultant (or doctor) they are with."""
    term = term.strip().casefold()
    if not term:
        return True
    if visit.ticket.casefold().startswith(term):
        return True
    client = visit.client
    if client is not None:
        if term in client.name.casefold():
            return True
        digits = "".join(ch for ch in term if ch.isdigit())
        if digits == term.replace(" ", "") and len(digits) >= 3 and client.phone:
            if client.phone.endswith(digits) or (len(digits) > 4 and digits in client.phone):
                return True
    return any(person is not None and (term in person.display_name.casefold() or term == person.username.casefold())
               for person in (visit.consultant, visit.doctor))


GROUPINGS = ("", "line", "consultant")


def grouped(rows: list[DeskRow], by: str) -> list[tuple[object, list[DeskRow]]]:
    """The rows in groups, in the order the groups first appear: by line (the Line) or by
    consultant (the Staff, None for nobody yet); one group of everything otherwise."""
    if by not in ("line", "consultant"):
        return [(None, rows)]
    groups: dict[object, list[DeskRow]] = {}
    for row in rows:
        key = row.visit.line if by == "line" else row.visit.consultant
        groups.setdefault(key, []).append(row)
    if by == "line":
        return sorted(groups.items(), key=lambda item: (item[0].position, item[0].id))
    return sorted(groups.items(), key=lambda item: (item[0] is None, item[0].rotation_order if item[0] else 0,
                                                   item[0].id if item[0] else 0))


def desk_list(session: Session, snapshot: QueueSnapshot, *, line_code: str | None = None,
              consultant_id: int | None = None, sort: str = "arrival", search: str = "",
              now: dt.datetime | None = None) -> DeskList:
    """Today's visitors still in the building, for the desk (or one consultant's own queue),
    narrowed by the desk's search (matches()). Waits from `snapshot`, whose visit objects may be
    another session's (the kept state): rows are this session's own."""
    now = now or snapshot.now
    threshold = get_settings(session).long_wait_minutes
    query = (
        select(Visit)
        .where(Visit.clinic_day == snapshot.day, Visit.status.in_(ON_THE_LIST), Visit.kind != VisitKind.COMPANION)
        .options(selectinload(Visit.client).selectinload(Client.consultant),
                 selectinload(Visit.client).selectinload(Client.surgeon), selectinload(Visit.consultant),
                 selectinload(Visit.doctor), selectinload(Visit.line), selectinload(Visit.service))
        .order_by(Visit.checked_in_at, Visit.id)
    )
    if consultant_id is not None:
        # One person's own queue: theirs, and (a doctor's) visitors handed to them.
        query = query.where((Visit.consultant_id == consultant_id) | (Visit.doctor_id == consultant_id))
    visits = [v for v in session.scalars(query)
              if (line_code is None or v.line.code == line_code) and matches(v, search)]
    ids = [v.id for v in visits]
    flags = dict(session.execute(select(HealthQuestionnaire.visit_id, HealthQuestionnaire.flags)
                                 .where(HealthQuestionnaire.visit_id.in_(ids))).all()) if ids else {}
    companions = dict(session.execute(
        select(Visit.companion_of_id, func.count()).where(Visit.companion_of_id.in_(ids))
        .group_by(Visit.companion_of_id)).all()) if ids else {}
    rows = []
    for visit in visits:
        waited = max(0, int((now - visit.checked_in_at).total_seconds() // 60))
        estimate = snapshot.for_visit(visit)
        waiting = visit.status == S.WAITING
        surgery = visit.client.surgery_date if visit.client is not None and visit.line.post_op else None
        rows.append(DeskRow(visit, waited, estimate.minutes if waiting else 0, estimate.position if waiting else 0,
                            list(flags.get(visit.id) or []), companions.get(visit.id, 0),
                            waiting and waited >= threshold, alerts_for(visit, snapshot.board, estimate),
                            (snapshot.day - surgery).days if surgery else None,
                            estimate.upper if waiting else 0))
    if sort == "wait":
        rows.sort(key=lambda r: (not (r.visit.status == S.WAITING), -r.waited_minutes))
    return DeskList(rows, sum(1 for r in rows if r.long_wait),
                    sum(1 for r in rows if r.visit.status == S.WAITING and r.visit.kind not in DESK_KINDS))


@dataclass(frozen=True)
class RotationRow:
    staff: Staff
    duty: object  # duty.Duty
    turns_today: int
    first_visits: list[str]  # today's first visitors, tickets in order (一日当面咨询表 b)
    in_consultation: int
    waiting_for_them: int
    next_in_turn: bool
    shift: object = None  # RosterShift or None


def rotation_board(session: Session, snapshot: QueueSnapshot) -> list[RotationRow]:
    """The 轮牌 board and the duty board: every consultant (then every doctor), their duty now, the
    first visits each received today in order, who is next.

    "Next" is exactly what triage would pick for a visitor who fits anyone.
    """
    board = snapshot.board
    turns = triage.rotation_turns(session, snapshot.day)
    firsts = triage.first_visits_in_order(session, snapshot.day)
    order = triage.rotation_order(session, snapshot.day, board=board)
    next_id = order[0].id if order else None
    in_room = dict(session.execute(select(Visit.consultant_id, func.count()).where(
        Visit.clinic_day == snapshot.day, Visit.status.in_([S.WITH_CONSULTANT, S.WITH_DOCTOR]))
        .group_by(Visit.consultant_id)).all())
    waiting = dict(session.execute(select(Visit.consultant_id, func.count()).where(
        Visit.clinic_day == snapshot.day, Visit.status == S.WAITING, Visit.kind != VisitKind.COMPANION)
        .group_by(Visit.consultant_id)).all())
    people = sorted(board.staff, key=lambda m: (m.role != Role.CONSULTANT, m.rotation_order, m.id))
    return [RotationRow(m, board.of(m), turns.get(m.id, 0), firsts.get(m.id, []), in_room.get(m.id, 0),
                        waiting.get(m.id, 0), m.id == next_id, board.shifts.get(m.id))
            for m in people]
