"""The front desk's read model: the live waiting list as staff see it (full names, flags)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..models import HealthQuestionnaire, Role, Staff, Visit, VisitKind, VisitStatus
from . import triage
from .settings import get_settings
from .visits import ACTIVE
from .waits import QueueSnapshot

S = VisitStatus
# Skipped visitors stay on the desk's list for the day, so they can be put back in the queue.
ON_THE_LIST = ACTIVE + (S.NO_SHOW,)


@dataclass(frozen=True)
class DeskRow:
    visit: Visit
    waited_minutes: int
    expected_wait_minutes: int
    position: int
    flags: list[str]
    companions: int
    long_wait: bool


@dataclass(frozen=True)
class DeskList:
    rows: list[DeskRow]
    long_waits: int
    waiting: int


def desk_list(session: Session, snapshot: QueueSnapshot, *, line_code: str | None = None,
              consultant_id: int | None = None, sort: str = "arrival") -> DeskList:
    """Today's visitors still in the building, for the desk (or one consultant's own queue)."""
    threshold = get_settings(session).long_wait_minutes
    query = (
        select(Visit)
        .where(Visit.clinic_day == snapshot.day, Visit.status.in_(ON_THE_LIST), Visit.kind != VisitKind.COMPANION)
        .options(selectinload(Visit.client), selectinload(Visit.consultant), selectinload(Visit.line),
                 selectinload(Visit.service))
        .order_by(Visit.checked_in_at, Visit.id)
    )
    if consultant_id is not None:
        query = query.where(Visit.consultant_id == consultant_id)
    visits = [v for v in session.scalars(query) if line_code is None or v.line.code == line_code]
    ids = [v.id for v in visits]
    flags = dict(session.execute(select(HealthQuestionnaire.visit_id, HealthQuestionnaire.flags)
                                 .where(HealthQuestionnaire.visit_id.in_(ids))).all()) if ids else {}
    companions = dict(session.execute(
        select(Visit.companion_of_id, func.count()).where(Visit.companion_of_id.in_(ids))
        .group_by(Visit.companion_of_id)).all()) if ids else {}
    rows = []
    for visit in visits:
        waited = int((snapshot.now - visit.checked_in_at).total_seconds() // 60)
        estimate = snapshot.for_visit(visit)
        waiting = visit.status == S.WAITING
        rows.append(DeskRow(visit, waited, estimate.minutes if waiting else 0, estimate.position if waiting else 0,
                            list(flags.get(visit.id) or []), companions.get(visit.id, 0),
                            waiting and waited >= threshold))
    if sort == "wait":
        rows.sort(key=lambda r: (not (r.visit.status == S.WAITING), -r.waited_minutes))
    return DeskList(rows, sum(1 for r in rows if r.long_wait), sum(1 for r in rows if r.visit.status == S.WAITING))


@dataclass(frozen=True)
class RotationRow:
    staff: Staff
    turns_today: int
    in_consultation: int
    waiting_for_them: int
    next_in_turn: bool


def rotation_board(session: Session, snapshot: QueueSnapshot) -> list[RotationRow]:
    """The 轮牌 board: every consultant, their state, today's rotation first visits, who is next.

    "Next" is exactly what triage would pick for a visitor who fits anyone.
    """
    consultants = session.scalars(select(Staff).where(Staff.active, Staff.role == Role.CONSULTANT)
                                  .order_by(Staff.rotation_order, Staff.id)).all()
    turns = triage.rotation_turns(session, snapshot.day)
    order = triage.rotation_order(session, snapshot.day)
    next_id = order[0].id if order else None
    busy = dict(session.execute(select(Visit.consultant_id, func.count()).where(
        Visit.clinic_day == snapshot.day, Visit.status.in_([S.WITH_CONSULTANT, S.WITH_DOCTOR]))
        .group_by(Visit.consultant_id)).all())
    waiting = dict(session.execute(select(Visit.consultant_id, func.count()).where(
        Visit.clinic_day == snapshot.day, Visit.status == S.WAITING, Visit.kind != VisitKind.COMPANION)
        .group_by(Visit.consultant_id)).all())
    return [RotationRow(c, turns.get(c.id, 0), busy.get(c.id, 0), waiting.get(c.id, 0), c.id == next_id)
            for c in consultants]
