"""Replay: a recorded or generated clinic day run through Lobby's own domain on a simulated clock.

The replay builds the trace's clinic in a database of its own (in memory: the clinic's data is
never touched, and nothing is published to any screen), then lives each day: visitors check in
at their times (triage and the wait they are told are the product's own), and whoever is on duty
(the day's roster, through the duty rules) and free calls next with call-next itself, keeps the
visitor for the trace's minutes, and calls again. What each visitor was told at check-in is set
against when they were actually called, next to what a rolling average of the last ten waits
would have told them.

`extra` adds a person for a what-if: "with one more consultant on duty 14:00–18:00...".
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import math
import statistics
from dataclasses import dataclass

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from ..domain import checkin, roster, visits
from ..domain.audit import Actor
from ..domain.duty import DutyBoard
from ..domain.errors import Conflict
from ..domain.events import PRIVATE
from ..domain.settings import ENGINE_TIMEZONE_OPTION
from ..extensions import db
from ..models import (
    Client,
    ClinicSettings,
    Line,
    Role,
    Service,
    Staff,
    Visit,
    VisitKind,
    VisitStatus,
)
from .trace import Arrival, Trace, TraceDay, local_instant

REPLAY = Actor("replay")
ROLLING = 10  # the baseline: the mean of the last ten waits
KINDS = {"walk-in": VisitKind.WALK_IN, "returning": VisitKind.RETURNING, "post-op": VisitKind.POST_OP,
         "appointment": VisitKind.RETURNING}


@dataclass(frozen=True)
class Outcome:
    day: dt.date
    ticket: str
    kind: str
    service: str | None
    checked_in: str  # local time
    told: int | None
    told_upper: int | None
    baseline: float
    waited: float | None  # None: did not come when called, or never called that day


@dataclass(frozen=True)
class Extra:
    """One more person on duty for a what-if."""
    start: str = "14:00"
    end: str = "18:00"
    role: str = "consultant"


def replay(trace: Trace, *, extra: Extra | None = None) -> list[Outcome]:
    engine = create_engine("sqlite://", poolclass=StaticPool)
    engine.update_execution_options(**{ENGINE_TIMEZONE_OPTION: trace.clinic.timezone})
    db.metadata.create_all(engine)
    outcomes: list[Outcome] = []
    with Session(engine, info={PRIVATE: True}) as session:
        speeds = _build_clinic(session, trace, extra)
        for day in trace.days:
            outcomes += _Day(session, day, speeds, extra).live()
    engine.dispose()
    return outcomes


def _build_clinic(session: Session, trace: Trace, extra: Extra | None) -> dict[int, float]:
    clinic = trace.clinic
    session.add(ClinicSettings(name="Replay", timezone=clinic.timezone, open_all_day=True))
    lines = {}
    for position, spec in enumerate(clinic.lines):
        lines[spec["code"]] = Line(code=spec["code"], prefix=spec["prefix"], name_zh=spec.get("name") or spec["code"],
                                   name_en=spec["code"], specialty=spec.get("specialty"),
                                   post_op=bool(spec.get("post_op")), position=position)
    session.add_all(lines.values())
    for spec in clinic.services:
        session.add(Service(code=spec["code"], name_zh=spec["code"], name_en=spec["code"],
                            line=lines.get(spec.get("line")), specialty=spec.get("specialty"),
                            typical_minutes=spec.get("minutes") or 20))
    speeds = {}
    people = list(clinic.staff)
    if extra is not None:
        specialties = sorted({s for p in people if p["role"] == extra.role for s in p.get("specialties") or []})
        people.append({"username": "what_if", "role": extra.role, "specialties": specialties, "room": "+"})
    for order, spec in enumerate(people):
        member = Staff(username=spec["username"], display_name=spec["username"], role=Role(spec["role"]),
                       specialties=list(spec.get("specialties") or []), room=spec.get("room"),
                       rotation_order=order, password_hash="!")
        session.add(member)
        session.flush()
        speeds[member.id] = float(spec.get("speed") or 1.0)
    session.commit()
    return speeds


class _Day:
    def __init__(self, session: Session, day: TraceDay, speeds: dict[int, float], extra: Extra | None):
        self.session, self.day, self.speeds = session, day, speeds
        shifts = list(day.roster)
        if extra is not None:
            shifts.append({"username": "what_if", "start": extra.start, "end": extra.end, "breaks": []})
        roster.replace_roster(session, day.date, shifts, actor=REPLAY)
        session.commit()
        self.tz = DutyBoard(session, dt.datetime.now(dt.timezone.utc), day.date).tz
        midnight = local_instant(day.date, "00:00", self.tz)
        board = DutyBoard(session, midnight, day.date)
        self.people = [m for m in board.staff if board.on_duty_spans(m)]
        self.spans = {m.id: board.on_duty_spans(m) for m in self.people}
        self.services = {s.code: s for s in session.scalars(select(Service))}
        self.staff = {m.username: m for m in session.scalars(select(Staff))}
        self.events: list = []
        self.seq = itertools.count()
        self.free = {m.id: True for m in self.people}
        self.arrival_of: dict[int, Arrival] = {}
        self.waits: list[float] = []  # actual waits so far today, in call order
        self.told: dict[int, tuple] = {}
        self.called_at: dict[int, float] = {}

    def _push(self, at: dt.datetime, kind: str, payload) -> None:
        heapq.heappush(self.events, (at, next(self.seq), kind, payload))

    def _on_duty(self, member: Staff, at: dt.datetime) -> bool:
        return any(start <= at < end for start, end in self.spans[member.id])

    def live(self) -> list[Outcome]:
        for arrival in self.day.arrivals:
            self._push(local_instant(self.day.date, arrival.at, self.tz), "arrive", arrival)
        for member in self.people:
            for start, _ in self.spans[member.id]:
                self._push(start, "wake", None)
        while self.events:
            at, _, kind, payload = heapq.heappop(self.events)
            if kind == "arrive":
                self._check_in(payload, at)
            elif kind == "finish":
                self._finish(*payload, at)
            self._call(at)
        return self._outcomes()

    def _check_in(self, arrival: Arrival, at: dt.datetime) -> None:
        session = self.session
        client = Client(name="访客", phone=f"+8613{next(self.seq):09d}")
        session.add(client)
        requested = self.staff.get(arrival.consultant) if arrival.consultant else None
        visit = checkin.check_in(session, kind=KINDS.get(arrival.kind, VisitKind.WALK_IN), client=client,
                                 service=self.services.get(arrival.service), requested=requested, actor=REPLAY, now=at)
        session.commit()
        self.arrival_of[visit.id] = arrival
        recent = self.waits[-ROLLING:]
        self.told[visit.id] = (visit.ticket, arrival, at, visit.predicted_wait_minutes,
                               visit.predicted_wait_max_minutes, statistics.fmean(recent) if recent else 0.0)

    def _call(self, at: dt.datetime) -> None:
        """Whoever is on duty and free calls next, in the board's order."""
        for member in self.people:
            if not self.free[member.id] or not self._on_duty(member, at):
                continue
            try:
                visit = visits.call_next(self.session, member, actor=REPLAY, now=at)
            except Conflict:
                self.session.rollback()
                continue
            arrival = self.arrival_of[visit.id]
            self.called_at[visit.id] = (at - self.told[visit.id][2]).total_seconds() / 60
            if arrival.no_show:
                minutes = 3.0
            else:
                self.waits.append(self.called_at[visit.id])
                visits.transition(self.session, visit, VisitStatus.WITH_CONSULTANT, actor=REPLAY,
                                  now=at + dt.timedelta(minutes=min(1.0, (arrival.minutes or 2) / 2)))
                minutes = arrival.minutes if arrival.minutes is not None else (
                    arrival.median * self.speeds[member.id] * math.exp(arrival.noise))
            self.session.commit()
            self.free[member.id] = False
            self._push(at + dt.timedelta(minutes=minutes), "finish", (member.id, visit.id))

    def _finish(self, member_id: int, visit_id: int, at: dt.datetime) -> None:
        visit = self.session.get(Visit, visit_id)
        target = VisitStatus.NO_SHOW if self.arrival_of[visit_id].no_show else VisitStatus.DONE
        visits.transition(self.session, visit, target, actor=REPLAY, now=at)
        self.session.commit()
        self.free[member_id] = True

    def _outcomes(self) -> list[Outcome]:
        found = []
        for visit_id, (ticket, arrival, at, told, upper, baseline) in self.told.items():
            waited = None if arrival.no_show else self.called_at.get(visit_id)
            found.append(Outcome(self.day.date, ticket, arrival.kind, arrival.service,
                                 at.astimezone(self.tz).strftime("%H:%M:%S"), told, upper, round(baseline, 1),
                                 None if waited is None else round(waited, 1)))
        return found


@dataclass(frozen=True)
class Accuracy:
    visitors: int
    mean_abs_error: float
    within_5: float  # share of visitors told within ±5 minutes of their wait
    above_upper: float  # share who waited longer than the upper bound they were told
    baseline_mean_abs_error: float
    longest_wait: float


def accuracy(outcomes: list[Outcome]) -> Accuracy | None:
    seen = [o for o in outcomes if o.waited is not None and o.told is not None]
    if not seen:
        return None
    errors = [abs(o.waited - o.told) for o in seen]
    return Accuracy(
        visitors=len(seen),
        mean_abs_error=statistics.fmean(errors),
        within_5=sum(e <= 5 for e in errors) / len(seen),
        # Told in whole minutes: a wait past the bound is one that rounds above it.
        above_upper=sum(o.told_upper is not None and round(o.waited) > o.told_upper for o in seen) / len(seen),
        baseline_mean_abs_error=statistics.fmean(abs(o.waited - o.baseline) for o in seen),
        longest_wait=max(o.waited for o in outcomes if o.waited is not None),
    )


@dataclass(frozen=True)
class WhatIf:
    start: str
    end: str
    visitors: int
    longest_as_run: float
    longest_with_extra: float
    mean_as_run: float
    mean_with_extra: float


def what_if(session: Session, day: dt.date, start: str, end: str) -> WhatIf | None:
    """The clinic's own `day`, replayed as it was and with one more consultant on duty from `start`
    to `end` (HH:MM): the longest and the mean wait each way. None when nobody was seen that day."""
    from .trace import record

    trace = record(session, [day])
    if not trace.days[0].arrivals:
        return None
    as_run = [o.waited for o in replay(trace) if o.waited is not None]
    with_extra = [o.waited for o in replay(trace, extra=Extra(start, end)) if o.waited is not None]
    if not as_run or not with_extra:
        return None
    return WhatIf(start, end, len(as_run), max(as_run), max(with_extra), statistics.fmean(as_run),
                  statistics.fmean(with_extra))
