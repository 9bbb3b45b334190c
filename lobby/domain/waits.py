"""Expected waits: a first estimator by list scheduling.

Every consultant on duty is free at some instant: now, or when the visitor
with them is expected to finish (typical service minutes). Waiting visitors
are taken in order of arrival; a visitor assigned to a consultant starts when
that consultant is free, an unassigned one when the first fitting consultant
is. The wait is that start minus now. A learned estimator can replace this by
keeping the same functions.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..models import DutyStatus, Line, Role, Staff, Visit, VisitKind, VisitStatus
from . import clock, triage
from .settings import clinic_day

DEFAULT_SERVICE_MINUTES = 20
S = VisitStatus


@dataclass(frozen=True)
class WaitEstimate:
    minutes: int
    position: int  # 1 = next for their consultant (or line, when unassigned)


@dataclass(frozen=True)
class LineWait:
    line_id: int
    waiting: int
    minutes: int  # for someone checking in now, unassigned


def _duration(visit: Visit) -> float:
    minutes = visit.service.typical_minutes if visit.service is not None else DEFAULT_SERVICE_MINUTES
    return float(minutes or DEFAULT_SERVICE_MINUTES)


def _minutes_between(later: dt.datetime, earlier: dt.datetime) -> float:
    return (later - earlier).total_seconds() / 60


class QueueSnapshot:
    """The day's queue as one simulation, so every estimate agrees with every other."""

    def __init__(self, session: Session, day: dt.date, now: dt.datetime):
        self.now = now
        self.day = day
        visits = session.scalars(
            select(Visit)
            .where(
                Visit.clinic_day == day,
                Visit.status.in_([S.WAITING, S.CALLED, S.WITH_CONSULTANT, S.WITH_DOCTOR]),
                Visit.kind != VisitKind.COMPANION,
            )
            .options(selectinload(Visit.service), selectinload(Visit.line), selectinload(Visit.client),
                     selectinload(Visit.consultant))
            .order_by(Visit.checked_in_at, Visit.id)
        ).all()
        # Consultants, and doctors for the post-op line: everyone on duty who sees visitors.
        self.consultants = session.scalars(
            select(Staff).where(
                Staff.active,
                Staff.role.in_([Role.CONSULTANT, Role.DOCTOR]),
                Staff.duty_status.in_([DutyStatus.AVAILABLE, DutyStatus.BUSY]),
            )
        ).all()
        # Minutes from now until each consultant is free.
        self.free_in: dict[int, float] = {c.id: 0.0 for c in self.consultants}
        for visit in visits:
            if visit.status == S.WAITING or visit.consultant_id is None:
                continue
            started = visit.consultation_started_at or visit.called_at or now
            remaining = max(0.0, _duration(visit) - _minutes_between(now, started))
            self.free_in[visit.consultant_id] = self.free_in.get(visit.consultant_id, 0.0) + remaining
        self.waiting = [v for v in visits if v.status == S.WAITING]
        self.estimates: dict[int, WaitEstimate] = {}
        self._simulate()

    def _fitting(self, line: Line, service) -> list[int]:
        """Who could take an unassigned visitor of this line (and service, when known)."""
        if line.post_op:
            return [c.id for c in self.consultants if c.role == Role.DOCTOR]
        wanted = triage.wanted_specialties(line, service)
        return [c.id for c in self.consultants if c.role == Role.CONSULTANT and triage.fits(c, wanted)]

    def _take(self, free_in: dict[int, float], consultant_id: int | None, fitting: list[int], minutes: float) -> float:
        """Schedule `minutes` of work; return when it starts (minutes from now)."""
        if consultant_id is not None:
            start = free_in.get(consultant_id, 0.0)
            free_in[consultant_id] = start + minutes
            return start
        if not fitting:
            return 0.0
        chosen = min(fitting, key=lambda cid: free_in[cid])
        start = free_in[chosen]
        free_in[chosen] = start + minutes
        return start

    def _simulate(self) -> None:
        free_in = dict(self.free_in)
        ahead: dict[tuple, int] = {}
        for visit in self.waiting:
            queue_key = ("c", visit.consultant_id) if visit.consultant_id else ("l", visit.line_id)
            ahead[queue_key] = ahead.get(queue_key, 0) + 1
            start = self._take(free_in, visit.consultant_id, self._fitting(visit.line, visit.service), _duration(visit))
            self.estimates[visit.id] = WaitEstimate(math.ceil(start), ahead[queue_key])
        self._free_after_queue = free_in

    def for_visit(self, visit: Visit) -> WaitEstimate:
        return self.estimates.get(visit.id, WaitEstimate(0, 0))

    def for_line(self, line: Line) -> LineWait:
        """What a newcomer on this line would wait, if no one in particular is asked for."""
        fitting = self._fitting(line, None)
        start = min((self._free_after_queue[cid] for cid in fitting), default=0.0)
        waiting = sum(1 for v in self.waiting if v.line_id == line.id)
        return LineWait(line.id, waiting, math.ceil(start))

    def lines(self, session: Session) -> list[tuple[Line, LineWait]]:
        active = session.scalars(select(Line).where(Line.active).order_by(Line.position, Line.id)).all()
        return [(line, self.for_line(line)) for line in active]


def snapshot(session: Session, now: dt.datetime | None = None) -> QueueSnapshot:
    now = now or clock.utcnow()
    return QueueSnapshot(session, clinic_day(session, now), now)


def estimate_for_visit(session: Session, visit: Visit, now: dt.datetime | None = None) -> WaitEstimate:
    if visit.status != S.WAITING:
        return WaitEstimate(0, 0)
    now = now or clock.utcnow()
    return QueueSnapshot(session, visit.clinic_day, now).for_visit(visit)

