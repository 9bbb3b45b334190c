"""Triage (分诊): which consultant a visitor goes to, rule by rule, the first that applies winning:

1. the consultant designated on the booking or requested by the visitor;
2. a returning client's own consultant;
3. an A-class partner store's consultant;
4. post-op visits: the operating surgeon (主刀医生), on the post-op line;
5. otherwise fair rotation (轮牌) among available consultants whose
   specialties fit, fewest rotation first-visits today first, then board order.
When nobody fits and is free, the visitor waits on the line unassigned and
the next consultant who calls takes them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Client, DutyStatus, Line, Role, Service, Staff, Visit, VisitKind
from .errors import Conflict

DESIGNATED = "designated"
REQUESTED = "requested"
OWN_CONSULTANT = "own"
PARTNER = "partner"
SURGEON = "surgeon"
ROTATION = "rotation"
UNASSIGNED = "unassigned"


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


def rotation_turns(session: Session, day: dt.date) -> dict[int, int]:
    """First visits each consultant received by rotation today (the 轮牌 count)."""
    rows = session.execute(
        select(Visit.consultant_id, func.count())
        .where(
            Visit.clinic_day == day,
            Visit.first_visit.is_(True),
            Visit.triage_rule == ROTATION,
            Visit.consultant_id.is_not(None),
        )
        .group_by(Visit.consultant_id)
    ).all()
    return {consultant_id: count for consultant_id, count in rows}


def rotation_order(session: Session, day: dt.date, wanted: set[str] | None = None) -> list[Staff]:
    """Available consultants who fit, in the order rotation gives them the next visitor."""
    consultants = session.scalars(
        select(Staff).where(
            Staff.active,
            Staff.role == Role.CONSULTANT,
            Staff.duty_status == DutyStatus.AVAILABLE,
        )
    ).all()
    turns = rotation_turns(session, day)
    fitting = [c for c in consultants if fits(c, wanted or set())]
    return sorted(fitting, key=lambda c: (turns.get(c.id, 0), c.rotation_order, c.id))


def _usable(staff: Staff | None) -> bool:
    return staff is not None and staff.active


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
) -> TriageResult:
    """Choose the line and consultant for a new visit."""
    if line is None:
        line = service.line if service is not None else None
    if kind == VisitKind.POST_OP:
        line = post_op_line(session) or line
    if line is None:
        line = default_line(session)
    if line is None:
        raise Conflict("no_lines")

    if kind == VisitKind.COMPLAINT:
        # Complaints go to the front desk and the department head, not to a consultant.
        return TriageResult(line, None, UNASSIGNED)
    if _usable(designated):
        return TriageResult(line, designated, DESIGNATED)
    if _usable(requested):
        return TriageResult(line, requested, REQUESTED)
    if kind == VisitKind.POST_OP and client is not None and _usable(client.surgeon):
        return TriageResult(line, client.surgeon, SURGEON)
    if client is not None:
        if _usable(client.consultant):
            return TriageResult(line, client.consultant, OWN_CONSULTANT)
        partner = client.partner
        if partner is not None and partner.active and partner.a_class and _usable(partner.consultant):
            return TriageResult(line, partner.consultant, PARTNER)

    candidates = rotation_order(session, day, wanted_specialties(line, service))
    if candidates:
        return TriageResult(line, candidates[0], ROTATION)
    return TriageResult(line, None, UNASSIGNED)
