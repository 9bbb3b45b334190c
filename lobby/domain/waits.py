"""Expected waits: a first estimator by list scheduling.

Every consultant (or doctor) on duty is free at some instant: now, when the
visitor with them is expected to finish (typical service minutes), or when
their break ends. Waiting visitors are taken in order of arrival; a visitor
assigned to someone starts when that person is free, an unassigned one when the
first fitting person is. The wait is that start minus now.

Nobody who could serve a visitor is on duty (or back today): the wait is
unknown (None, with a reason), never 0 — the visitor is told the desk will tell
them (seed 002 §6.12: never promise a time you cannot keep).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..models import Line, Role, Visit, VisitStatus
from . import clock, triage
from .dispatch import DESK_KINDS, NOT_QUEUED
from .duty import DutyBoard
from .settings import clinic_day

DEFAULT_SERVICE_MINUTES = 20
S = VisitStatus


# Why a wait is unknown.
NOBODY_ON_DUTY = "nobody_on_duty"        # nobody who could serve them is on duty today
ASSIGNEE_ABSENT = "assignee_absent"      # their consultant is away or off, not back today
FRONT_DESK = "front_desk"                # complaints and browsing: the desk receives them


@dataclass(frozen=True)
class WaitEstimate:
    minutes: int | None  # None: unknown, see `reason`
    position: int  # 1 = next for their consultant (or line, when unassigned)
    reason: str | None = None


@dataclass(frozen=True)
class LineWait:
    line_id: int
    waiting: int
    minutes: int | None  # for someone checking in now, unassigned; None when nobody can serve


def _duration(visit: Visit) -> float:
    minutes = visit.service.typical_minutes if visit.service is not None else DEFAULT_SERVICE_MINUTES
    return float(minutes or DEFAULT_SERVICE_MINUTES)


def _minutes_between(later: dt.datetime, earlier: dt.datetime) -> float:
    return (later - earlier).total_seconds() / 60


class QueueSnapshot:
    """The day's queue as one simulation, so every estimate agrees with every other."""

    def __init__(self, session: Session, day: dt.date, now: dt.datetime, board: DutyBoard | None = None):
        self.now = now
        self.day = day
        visits = session.scalars(
            select(Visit)
            .where(
                Visit.clinic_day == day,
                Visit.status.in_([S.WAITING, S.CALLED, S.WITH_CONSULTANT, S.WITH_DOCTOR]),
                Visit.kind.not_in(NOT_QUEUED),
            )
            .options(selectinload(Visit.service), selectinload(Visit.line), selectinload(Visit.client),
                     selectinload(Visit.consultant))
            .order_by(Visit.checked_in_at, Visit.id)
        ).all()
        self.board = board or DutyBoard(session, now, day)
        # Everyone who sees visitors and is on duty, or back later today (a break, "away until").
        self.consultants = [m for m in self.board.staff
                            if self.board.of(m).serving or self._back_today(self.board.of(m).back_at)]
        # Minutes from now until each of them is free.
        self.free_in: dict[int, float] = {
            c.id: 0.0 if self.board.of(c).serving else _minutes_between(self.board.of(c).back_at, now)
            for c in self.consultants}
        for visit in visits:
            if visit.status == S.WAITING or visit.consultant_id is None:
                continue
            started = visit.consultation_started_at or visit.called_at or now
            remaining = max(0.0, _duration(visit) - _minutes_between(now, started))
            for person in {visit.consultant_id, visit.doctor_id if visit.status == S.WITH_DOCTOR else None} - {None}:
                if person in self.free_in:
                    self.free_in[person] += remaining
        self.waiting = [v for v in visits if v.status == S.WAITING]
        self.estimates: dict[int, WaitEstimate] = {}
        self._simulate()

    def _back_today(self, back_at: dt.datetime | None) -> bool:
        return back_at is not None and back_at > self.now and clock.local_day(back_at, self.board.tz) == self.day

    def _fitting(self, line: Line, service) -> list[int]:
        """Who could take an unassigned visitor of this line (and service, when known)."""
        if line.post_op:
            return [c.id for c in self.consultants if c.role == Role.DOCTOR]
        wanted = triage.wanted_specialties(line, service)
        return [c.id for c in self.consultants if c.role == Role.CONSULTANT and triage.fits(c, wanted)]

    def _take(self, free_in: dict[int, float], consultant_id: int | None, fitting: list[int],
              minutes: float) -> float | None:
        """Schedule `minutes` of work; return when it starts (minutes from now), None if nobody can."""
        if consultant_id is not None:
            if consultant_id not in free_in:
                return None
            start = free_in[consultant_id]
            free_in[consultant_id] = start + minutes
            return start
        if not fitting:
            return None
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
            if start is None:
                reason = ASSIGNEE_ABSENT if visit.consultant_id is not None else NOBODY_ON_DUTY
                self.estimates[visit.id] = WaitEstimate(None, ahead[queue_key], reason)
            else:
                self.estimates[visit.id] = WaitEstimate(math.ceil(start), ahead[queue_key])
        self._free_after_queue = free_in

    def for_visit(self, visit: Visit) -> WaitEstimate:
        if visit.kind in DESK_KINDS:
            return WaitEstimate(None, 0, FRONT_DESK)
        return self.estimates.get(visit.id, WaitEstimate(0, 0))

    def for_line(self, line: Line) -> LineWait:
        """What a newcomer on this line would wait, if no one in particular is asked for."""
        fitting = self._fitting(line, None)
        start = min((self._free_after_queue[cid] for cid in fitting), default=None)
        waiting = sum(1 for v in self.waiting if v.line_id == line.id)
        return LineWait(line.id, waiting, None if start is None else math.ceil(start))

    def lines(self, session: Session) -> list[tuple[Line, LineWait]]:
        active = session.scalars(select(Line).where(Line.active).order_by(Line.position, Line.id)).all()
        return [(line, self.for_line(line)) for line in active]


def snapshot(session: Session, now: dt.datetime | None = None) -> QueueSnapshot:
    now = now or clock.utcnow()
    return QueueSnapshot(session, clinic_day(session, now), now)


def estimate_for_visit(session: Session, visit: Visit, now: dt.datetime | None = None,
                       board: DutyBoard | None = None) -> WaitEstimate:
    if visit.kind in DESK_KINDS:
        return WaitEstimate(None, 0, FRONT_DESK)
    if visit.status != S.WAITING:
        return WaitEstimate(0, 0)
    now = now or clock.utcnow()
    return QueueSnapshot(session, visit.clinic_day, now, board).for_visit(visit)

