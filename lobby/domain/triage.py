"""Triage (分诊): which line and consultant a visitor goes to, rule by rule, the first that applies winning:

1. complaints and browsing visitors: the front desk receives them, no consultant;
2. post-op visits (换药, 拆线, 复查; a post-op kind or a booked post-op service), on the post-op line,
   never a first visit, never rotated to a consultant: the doctor the booking names, else the
   operating surgeon (主刀医生) if on duty, else any doctor of the post-op line (unassigned there;
   the desk is alerted to find the surgeon when nobody knows who operated);
3. the consultant designated on the booking, or requested by the visitor;
4. a returning client's own consultant (客户归属);
5. an A-class partner store's consultant;
6. fair rotation (轮牌) among the consultants available now (on shift, not on a break, not busy,
   not away) whose specialties fit: fewest first visits received today first, then board order.
Rules 3-5 name a person whatever her duty: when she is away or off, the visitor keeps her and the
desk is alerted with who else fits (desk.py). When nobody fits and is free, the visitor waits
unassigned on the line and the first who may serve them and calls next takes them (dispatch.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, not_, select
from sqlalchemy.orm import Session

from ..models import (
    Client,
    DutyStatus,
    Line,
    Role,
    Service,
    Staff,
    Visit,
    VisitKind,
    VisitStatus,
)
from .duty import DutyBoard
from .errors import Conflict
from .settings import get_settings

DESIGNATED = "designated"
REQUESTED = "requested"
OWN_CONSULTANT = "own"
PARTNER = "partner"
SURGEON = "surgeon"
ROTATION = "rotation"
UNASSIGNED = "unassigned"
POST_OP_LINE = "post_op_line"
FRONT_DESK = "desk"
CALL_NEXT = "call_next"
REASSIGNED = "reassigned"
# How a first visit reached its consultant, and whether it counts on her 轮牌: always when she
# received it by rotation, by calling next or by reassignment; when it named her (booking, request,
# own, A-class store), only if the clinic says so (ClinicSettings.rotation_counts_designated).
ALWAYS_COUNTED = (ROTATION, CALL_NEXT, REASSIGNED)
NAMED = (DESIGNATED, REQUESTED, OWN_CONSULTANT, PARTNER)


@dataclass(frozen=True)
class TriageResult:
    line: Line
    consultant: Staff | None
    rule: str


def default_line(session: Session) -> Line | None:
    return session.scalars(
        select(Line).where(Line.active, Line.post_op.is_(False)).order_by(Line.position, Line.id)
    ).first()


def post_op_line(session: Session) -> Line | None:
    return session.scalars(select(Line).where(Line.active, Line.post_op).order_by(Line.position)).first()


def line_specialties(line: Line) -> set[str]:
    """The specialties that can serve a line: its own, else those of its services."""
    if line.specialty:
        return {line.specialty}
    return {s.specialty for s in line.services if s.specialty and s.active}


def wanted_specialties(line: Line, service: Service | None) -> set[str]:
    """What a consultant must be good at (擅长) to take this visitor; empty means anyone."""
    if service is not None and service.specialty:
        return {service.specialty}
    return line_specialties(line)


def fits(consultant: Staff, wanted: set[str]) -> bool:
    return not wanted or bool(wanted & set(consultant.specialties or []))


def is_post_op(kind: VisitKind, service: Service | None, line: Line | None = None) -> bool:
    """A post-op visit: said so, or a booked service (or a line) of the post-op line."""
    return (kind == VisitKind.POST_OP or (service is not None and service.line is not None and service.line.post_op)
            or (line is not None and line.post_op))


def counted_rules(session: Session) -> tuple[str, ...]:
    return ALWAYS_COUNTED + (NAMED if get_settings(session).rotation_counts_designated else ())


def received_first_visits(session: Session, day: dt.date):
    """The condition of a first visit a consultant has received today: it reached her by a counted
    rule, and it was not lost before anyone saw it (left or skipped before the consultation)."""
    return and_(
        Visit.clinic_day == day,
        Visit.first_visit.is_(True),
        Visit.consultant_id.is_not(None),
        Visit.triage_rule.in_(counted_rules(session)),
        not_(and_(Visit.status.in_([VisitStatus.LEFT, VisitStatus.NO_SHOW]),
                  Visit.consultation_started_at.is_(None))),
    )


def rotation_turns(session: Session, day: dt.date) -> dict[int, int]:
    """First face-to-face visits each consultant received today (the 轮牌 count, seed 004)."""
    rows = session.execute(
        select(Visit.consultant_id, func.count()).where(received_first_visits(session, day))
        .group_by(Visit.consultant_id)
    ).all()
    return {consultant_id: count for consultant_id, count in rows}


def first_visits_in_order(session: Session, day: dt.date) -> dict[int, list[str]]:
    """Each consultant's first visitors today, tickets in the order they arrived (一日当面咨询表 b)."""
    rows = session.execute(
        select(Visit.consultant_id, Visit.ticket).where(received_first_visits(session, day))
        .order_by(Visit.checked_in_at, Visit.id)
    ).all()
    order: dict[int, list[str]] = {}
    for consultant_id, ticket in rows:
        order.setdefault(consultant_id, []).append(ticket)
    return order


def rotation_order(session: Session, day: dt.date, wanted: set[str] | None = None,
                   board: DutyBoard | None = None) -> list[Staff]:
    """Consultants available now who fit, in the order rotation gives them the next visitor."""
    board = board or DutyBoard(session, day=day)
    turns = rotation_turns(session, day)
    fitting = [c for c in board.staff if c.role == Role.CONSULTANT and board.of(c).status == DutyStatus.AVAILABLE
               and fits(c, wanted or set())]
    return sorted(fitting, key=lambda c: (turns.get(c.id, 0), c.rotation_order, c.id))


def _usable(staff: Staff | None, *roles: Role) -> bool:
    return staff is not None and staff.active and (not roles or staff.role in roles)


def triage(
    session: Session,
    *,
    kind: VisitKind,
    day: dt.date,
    line: Line | None = None,
    service: Service | None = None,
    client: Client | None = None,
    designated: Staff | None = None,
    requested: Staff | None = None,
    surgeon: Staff | None = None,
    board: DutyBoard | None = None,
) -> TriageResult:
    """Choose the line and consultant for a new visit (the rules in this module's docstring).
    `surgeon`: the operating surgeon named at check-in, when the client's file has none."""
    post_op = is_post_op(kind, service, line)
    if line is None:
        line = service.line if service is not None else None
    if post_op:
        line = post_op_line(session) or line
    if line is None:
        line = default_line(session)
    if line is None:
        raise Conflict("no_lines")

    if kind in (VisitKind.COMPLAINT, VisitKind.BROWSING):
        return TriageResult(line, None, FRONT_DESK)
    if post_op:
        board = board or DutyBoard(session, day=day)
        for person, rule in ((designated, DESIGNATED), (requested, REQUESTED)):
            if _usable(person):
                return TriageResult(line, person, rule)
        surgeon = surgeon or (client.surgeon if client is not None else None)
        if _usable(surgeon, Role.DOCTOR) and board.of(surgeon).serving:
            return TriageResult(line, surgeon, SURGEON)
        return TriageResult(line, None, POST_OP_LINE)
    if _usable(designated):
        return TriageResult(line, designated, DESIGNATED)
    if _usable(requested):
        return TriageResult(line, requested, REQUESTED)
    if client is not None:
        if _usable(client.consultant, Role.CONSULTANT):
            return TriageResult(line, client.consultant, OWN_CONSULTANT)
        partner = client.partner
        if partner is not None and partner.active and partner.a_class and _usable(partner.consultant):
            return TriageResult(line, partner.consultant, PARTNER)

    candidates = rotation_order(session, day, wanted_specialties(line, service), board)
    if candidates:
        return TriageResult(line, candidates[0], ROTATION)
    return TriageResult(line, None, UNASSIGNED)
