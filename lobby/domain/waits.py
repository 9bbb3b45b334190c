"""Expected waits: the clinic's own dispatch, simulated forward in time (forecast.py).

The estimate runs what the clinic will do: the roster with its breaks and the desk's "away
until", the visits in progress (how long such visits run, given they have lasted this long), and
call-next's own rule, with durations learned from the clinic's history (durations.py). Run RUNS
times with durations drawn from what was learned, it tells a visitor "about" the median of their
simulated waits and "at most" the UPPER_QUANTILE (seed 002 §6.12: never promise a time you
cannot be sure of).

Nobody who could serve a visitor is on duty (or back today): the wait is unknown (None, with a
reason), never 0 — the visitor is told the desk will tell them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from ..models import Line, Visit, VisitKind, VisitStatus
from . import clock, durations, forecast
from .dispatch import DESK_KINDS, NOT_QUEUED, may_serve, waiting_order
from .duty import DutyBoard
from .settings import clinic_day
from .visits import ACTIVE

S = VisitStatus
RUNS = 24
UPPER_QUANTILE = 0.9
FIRST_PER_LINE = 10  # the waiting kept at hand per line (the boards show the first 5)

# Why a wait is unknown.
NOBODY_ON_DUTY = "nobody_on_duty"        # nobody who could serve them is on duty today
ASSIGNEE_ABSENT = "assignee_absent"      # their consultant is away or off, not back today
FRONT_DESK = "front_desk"                # complaints and browsing: the desk receives them


@dataclass(frozen=True)
class WaitEstimate:
    minutes: int | None  # about; None: unknown, see `reason`
    position: int  # 1 = the next their consultant (or whoever takes them) will call
    reason: str | None = None
    upper: int | None = None  # at most (UPPER_QUANTILE of the simulated days)


@dataclass(frozen=True)
class LineWait:
    line_id: int
    waiting: int
    minutes: int | None  # for someone checking in now, unassigned; None when nobody can serve
    upper: int | None = None


@dataclass(frozen=True)
class _Newcomer:
    """Someone who would check in now on a line, asking for nobody: who could take them."""
    line: Line
    kind: VisitKind = VisitKind.WALK_IN
    consultant_id: None = None
    service: None = None


def _queue_key(visit: Visit) -> tuple:
    """The queue a visitor stands in: their consultant's, else their line's."""
    return ("c", visit.consultant_id) if visit.consultant_id else ("l", visit.line_id)


def _minutes_between(later: dt.datetime, earlier: dt.datetime) -> float:
    return (later - earlier).total_seconds() / 60


class QueueSnapshot:
    """The day's queue as one simulation, so every estimate agrees with every other."""

    def __init__(self, session: Session, day: dt.date, now: dt.datetime, board: DutyBoard | None = None,
                 model: durations.DurationModel | None = None, runs: int = RUNS,
                 extra_servers: list[forecast.Server] = ()):
        self.now = now
        self.day = day
        self.board = board or DutyBoard(session, now, day)
        visits = session.scalars(active_visits(day).order_by(Visit.checked_in_at, Visit.id)).all()
        self._run(visits, self._servers() + list(extra_servers), model or durations.for_day(session, day), runs)

    @classmethod
    def rebuilt(cls, base: QueueSnapshot, visits: list[Visit], board: DutyBoard) -> QueueSnapshot:
        """`base`'s day run again for these active visits (the changed ones read again), with its
        duty spans, durations and instant: a call or a finish costs a simulation, not a read."""
        twin = object.__new__(cls)
        twin.now, twin.day, twin.board = base.now, base.day, board
        servers = [forecast.Server(server.staff, server.spans) for server in base.forecast.servers]
        twin._run(sorted(visits, key=waiting_order), servers, base.model, RUNS)
        return twin

    @classmethod
    def retimed(cls, base: QueueSnapshot, now: dt.datetime, board: DutyBoard) -> QueueSnapshot:
        """`base`'s queue later in its day, nothing else changed: duty spans and consultations in
        progress as of `now`, its visits and durations — time passing costs a run, not a read."""
        twin = object.__new__(cls)
        twin.now, twin.day, twin.board = now, base.day, board
        twin._run(list(base.active), twin._servers(), base.model, RUNS)
        return twin

    def _run(self, visits: list[Visit], servers: list[forecast.Server], model: durations.DurationModel,
             runs: int) -> None:
        self.active = list(visits)  # waiting or in progress, in arrival order
        self.model = model
        self.forecast = forecast.Forecast(servers,
                                          forecast.longest_waiting_first([v for v in visits if v.status == S.WAITING]),
                                          self._in_progress(visits), self.model, seed=self.day.toordinal())
        self.estimates: dict[int, WaitEstimate] = {}
        self._line_waits: dict[int, tuple[int | None, int | None]] = {}
        self._simulate(runs)

    @property
    def waiting(self) -> list[Visit]:
        """Longest-waiting first."""
        return self.forecast.waiting

    def _servers(self) -> list[forecast.Server]:
        servers = []
        for member in self.board.staff:
            spans = [(_minutes_between(a, self.now), _minutes_between(b, self.now))
                     for a, b in self.board.on_duty_spans(member)]
            if spans:
                servers.append(forecast.Server(member, spans))
        return servers

    def _in_progress(self, visits: list[Visit]) -> list[forecast.InProgress]:
        """Who is busy with a visitor now: the consultant (she stays while the doctor is in, seed 004
        5.3) and the doctor they were handed to, from the call on."""
        found = []
        for visit in visits:
            if visit.status == S.WAITING or visit.consultant_id is None:
                continue
            people = {visit.consultant_id}
            if visit.status == S.WITH_DOCTOR and visit.doctor_id is not None:
                people.add(visit.doctor_id)
            started = visit.called_at or visit.consultation_started_at or self.now
            found.append(forecast.InProgress(frozenset(people), self.model.median(visit.service_id, visit.consultant_id),
                                             max(0.0, _minutes_between(self.now, started))))
        return found

    def _simulate(self, runs: int) -> None:
        self.forecast.simulate(runs)
        self.estimates = {}
        self._line_waits = {}
        # What a newcomer and the screens ask of the waiting without scanning them again: how many
        # stand in each queue and on each line, the first few of each line, where each visit is.
        self.in_queue: dict[tuple, int] = {}
        self.on_line: dict[int, int] = {}
        self.line_heads: dict[int, list[int]] = {}  # indexes into waiting
        self.index_of, self.index_of_public = {}, {}  # visit id, public id -> index into waiting
        # Position from the typical day: how many the person who will call them calls before them,
        # themselves included (if nobody will, their place in their own queue).
        taken_by = self.forecast.typical_run.taken_by
        called_by: dict[int, int] = {}
        for index, visit in enumerate(self.waiting):
            in_queue = self._count_in(visit, index)
            server = taken_by[index]
            if server is not None:
                called_by[server] = called_by.get(server, 0) + 1
            self._estimate(index, in_queue if server is None else called_by[server])

    def _count_in(self, visit: Visit, index: int) -> int:
        """`visit`, waiting at `index`, counted in its queue and line; its place in its own queue."""
        key, line = _queue_key(visit), visit.line_id
        self.in_queue[key] = self.in_queue.get(key, 0) + 1
        self.on_line[line] = self.on_line.get(line, 0) + 1
        heads = self.line_heads.setdefault(line, [])
        if len(heads) < FIRST_PER_LINE:
            heads.append(index)
        self.index_of[visit.id], self.index_of_public[visit.public_id] = index, index
        return self.in_queue[key]

    def copy(self) -> QueueSnapshot:
        """A copy a newcomer may be added to (add_newcomer) while this one stays as it is."""
        twin = object.__new__(QueueSnapshot)
        twin.__dict__.update(self.__dict__)
        twin.forecast = self.forecast.copy()
        twin.estimates = dict(self.estimates)
        twin._line_waits = {}
        twin.in_queue, twin.on_line = dict(self.in_queue), dict(self.on_line)
        twin.line_heads = {line: list(heads) for line, heads in self.line_heads.items()}
        twin.index_of, twin.index_of_public = dict(self.index_of), dict(self.index_of_public)
        return twin

    def comes_last(self, visit: Visit) -> bool:
        """Whether `visit` arrived after everyone waiting (what add_newcomer needs)."""
        return not self.waiting or waiting_order(visit) > waiting_order(self.waiting[-1])

    def add_newcomer(self, visit: Visit) -> WaitEstimate:
        """A check-in's newcomer (arrived after everyone waiting), added to the simulated days
        already run: nobody else's estimate moves, and the newcomer's costs one step per run
        instead of running the day again (forecast.add_last)."""
        index = self.forecast.add_last(visit)
        self.active = [*self.active, visit]
        self._line_waits = {}
        in_queue = self._count_in(visit, index)
        taken_by = self.forecast.typical_run.taken_by
        return self._estimate(index, in_queue if taken_by[index] is None else taken_by.count(taken_by[index]))

    def moved_since(self, earlier: dict | None) -> list[int]:
        """The waiting visits (ids) whose estimate is not the very one in `earlier` (the estimates of
        a snapshot this one was grown from): a check-in moves only its newcomer's. All when None."""
        if earlier is None:
            return list(self.estimates)
        return [visit_id for visit_id, estimate in self.estimates.items() if earlier.get(visit_id) is not estimate]

    def waiting_visit(self, visit_id: int | None = None, public_id: str | None = None) -> Visit | None:
        index = self.index_of.get(visit_id) if public_id is None else self.index_of_public.get(public_id)
        return None if index is None else self.waiting[index]

    def first_waiting(self, line_id: int) -> list[Visit]:  # longest-waiting first
        return [self.waiting[i] for i in self.line_heads.get(line_id, ())]

    def _estimate(self, index: int, position: int) -> WaitEstimate:
        visit = self.waiting[index]
        told = forecast.told([run.starts[index] for run in self.forecast.results], UPPER_QUANTILE)
        if told is None:
            reason = ASSIGNEE_ABSENT if visit.consultant_id is not None else NOBODY_ON_DUTY
            estimate = WaitEstimate(None, position, reason)
        else:
            estimate = WaitEstimate(told[0], position, None, told[1])
        self.estimates[visit.id] = estimate
        return estimate

    @property
    def typical_calls(self) -> list[tuple[Visit, object, float]]:
        """The typical day's calls in order: (visitor, who calls them, minutes from now)."""
        typical = self.forecast.typical_run
        called = sorted((i for i, start in enumerate(typical.starts) if start is not None),
                        key=lambda i: (typical.starts[i], typical.taken_by[i]))
        return [(self.waiting[i], self.forecast.servers[typical.taken_by[i]].staff, typical.starts[i])
                for i in called]

    # --- answers ----------------------------------------------------------------------------

    def for_visit(self, visit: Visit) -> WaitEstimate:
        if visit.kind in DESK_KINDS:
            return WaitEstimate(None, 0, FRONT_DESK)
        return self.estimates.get(visit.id, WaitEstimate(0, 0))

    def for_line(self, line: Line) -> LineWait:
        """What a newcomer on this line would wait, if no one in particular is asked for: the first
        person who may take them and has called everyone who came before."""
        if line.id not in self._line_waits:
            newcomer = _Newcomer(line)
            servers = self.forecast.servers
            fitting = [i for i, server in enumerate(servers) if may_serve(server.staff, newcomer)]
            samples = []
            for run in self.forecast.results:
                done = run.free_for_newcomers
                starts = [servers[i].on_duty_from(done[i]) for i in fitting if done[i] is not None]
                samples.append(min((s for s in starts if s is not None), default=None))
            self._line_waits[line.id] = forecast.told(samples, UPPER_QUANTILE) or (None, None)
        return LineWait(line.id, self.on_line.get(line.id, 0), *self._line_waits[line.id])

    def lines(self, session: Session) -> list[tuple[Line, LineWait]]:
        active = session.scalars(select(Line).where(Line.active).order_by(Line.position, Line.id)).all()
        return [(line, self.for_line(line)) for line in active]


def active_visits(day: dt.date, few: bool = False):
    """The query of a day's visits the queue simulates: waiting or in progress, queued kinds.
    `few`: a handful by id (what a change wrote), read in one statement with what they show."""
    load = joinedload if few else selectinload
    return (select(Visit)
            .where(Visit.clinic_day == day, Visit.status.in_(ACTIVE), Visit.kind.not_in(NOT_QUEUED))
            .options(load(Visit.service), load(Visit.line), load(Visit.client), load(Visit.consultant)))


def snapshot(session: Session, now: dt.datetime | None = None) -> QueueSnapshot:
    now = now or clock.utcnow()
    return QueueSnapshot(session, clinic_day(session, now), now)


# Where a check-in's newcomer may be added to the queue already simulated (lobby/queue_state.py
# sets it): (session, day, now) -> a copy of the kept snapshot at the version the session sees, or None.
newcomer_base = None
GROWN = "lobby_grown_snapshot"  # session.info: the snapshot a check-in grew, for after its commit


def estimate_for_visit(session: Session, visit: Visit, now: dt.datetime | None = None,
                       board: DutyBoard | None = None) -> WaitEstimate:
    if visit.kind in DESK_KINDS:
        return WaitEstimate(None, 0, FRONT_DESK)
    if visit.status != S.WAITING:
        return WaitEstimate(0, 0)
    now = now or clock.utcnow()
    base = newcomer_base(session, visit.clinic_day, now) if newcomer_base and GROWN not in session.info else None
    if base is not None and base.comes_last(visit):
        # A check-in: the newcomer added to the day already simulated, not the day run again.
        estimate = base.add_newcomer(visit)
        session.info[GROWN] = (base, visit.id)
        return estimate
    return QueueSnapshot(session, visit.clinic_day, now, board).for_visit(visit)

