"""The queue as the screens and the API see it, read once and then kept up to date by each change.

A change raises the queue's version in its own transaction (QueueVersion, below: any commit with
domain events or that changed visits, staff, the roster, the clinic's settings, lines or
services). The state — the wait simulation, the board, each board room's rendered fragment — is
kept per version in each process: the publish after a change, the API's answer to that change,
the desks' lists, every board (re)connecting, a phone opening its page all take it for the price
of reading one number.

The next version's state is derived from the kept one, not read again, when the change wrote
nothing shown but visits and nobody else changed the queue in between:
- a check-in's newcomer is added to a copy of the kept state's simulated day
  (waits.estimate_for_visit, forecast.add_last — the same answer as running the day again): the
  cost of a check-in does not grow with the queue;
- a call, a start, a finish, a skip: the visits it wrote are read again and the day is run again
  on the kept model of today's active visits (waits.QueueSnapshot.rebuilt), once, by whoever
  asks first.
Anything else (a roster, a setting, a duty, another process's change) is read afresh. Waits move
as time passes: a state older than STALE_SECONDS is simulated again from now, on its own visits
(QueueSnapshot.retimed), even if nothing changed; it is read afresh on a new clinic day. The one
write that raises no version, a wait re-told by another process, is caught up (one narrow read of
the re-told visitors, retell.catch_up) when a state is run again and its last look at the
database is older than CATCH_UP_SECONDS: with thousands waiting, reading the queue afresh instead
stalled every request for a third of a second.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import weakref
from dataclasses import dataclass, field

from flask import has_app_context
from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session

from .domain import checkin, clock, events, retell, waits
from .domain.duty import DutyBoard, busy_ids
from .domain.settings import clinic_day
from .extensions import db
from .models import (
    Client,
    ClinicSettings,
    DayClose,
    Line,
    QueueVersion,
    RosterShift,
    Service,
    Staff,
    Visit,
)

log = logging.getLogger(__name__)

STALE_SECONDS = 15
# What no version announces (a wait re-told by another process) is caught up when a state whose last
# look at the database is older than this is run again: about once a minute under any load.
CATCH_UP_SECONDS = 60
_SHOWN = (Visit, Staff, RosterShift, ClinicSettings, Line, Service, DayClose)
_WROTE = "lobby_queue_touched"
_VISITS = "lobby_queue_visits"  # the ids of the visits a transaction wrote
_OTHER = "lobby_queue_other"  # it wrote something shown besides visits: the next state is read afresh
_RAISED_TO = "lobby_queue_version"
_GROWN_FROM = "lobby_grown_from"


@event.listens_for(Session, "after_flush")
def _note_queue_changes(session: Session, _context) -> None:
    info = session.info
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Visit):
            info[_WROTE] = True
            info.setdefault(_VISITS, set()).add(obj.id)
        elif isinstance(obj, _SHOWN):
            info[_WROTE] = info[_OTHER] = True
        elif isinstance(obj, Client) and obj not in session.new and inspect(obj).attrs.name.history.has_changes():
            info[_WROTE] = info[_OTHER] = True  # a name the board shows (masked) changed


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_writes(state) -> None:
    # An UPDATE or DELETE statement names no objects: whatever it touched is read afresh.
    if (state.is_update or state.is_delete) and state.bind_mapper is not None \
            and issubclass(state.bind_mapper.class_, (*_SHOWN, Client)):
        state.session.info[_OTHER] = True


@event.listens_for(Session, "before_commit")
def _raise_version(session: Session) -> None:
    if session.info.get(events.PRIVATE):
        return
    session.flush()
    if not (session.info.pop(_WROTE, False) or events.has_pending(session)):
        return
    raised = session.execute(update(QueueVersion).where(QueueVersion.id == 1)
                             .values(version=QueueVersion.version + 1).returning(QueueVersion.version)).scalar()
    if raised is None:  # a database made by create_all (tests, a first start) has no row yet
        session.add(QueueVersion(id=1, version=1))
        session.flush()
        raised = 1
    session.info[_RAISED_TO] = raised


@event.listens_for(Session, "after_commit")
def _keep_derived(session: Session) -> None:
    """The state of the version this commit raised, from the kept one and what the commit wrote:
    a check-in's grown snapshot as it is; visits called, started or finished to be read again and
    the day run again on first use (QueueState.complete). Only when the kept state is this
    version's predecessor and the commit wrote nothing shown but visits; otherwise the next
    reader reads the queue afresh."""
    info = session.info
    grown, base, raised = info.pop(waits.GROWN, None), info.pop(_GROWN_FROM, None), info.pop(_RAISED_TO, None)
    touched, other = info.pop(_VISITS, set()), info.pop(_OTHER, False)
    info.pop(_WROTE, None)
    if raised is None:
        return
    engine = session.get_bind()
    with _lock:
        here = _raised_here.setdefault(engine, set())
        here.add(raised)
        if len(here) > 10_000:  # only the recent ones are ever asked about
            here.difference_update(sorted(here)[:5_000])
        if other:
            return
        kept = _kept.get(engine)
        if kept is None or raised != kept.version + 1:
            return
        if grown is not None and base is kept and kept.ready:
            snapshot, newcomer = grown
            state = QueueState(raised, kept.settings, snapshot, None, engine, [newcomer], touched - {newcomer},
                               read_at=kept.read_at)
        else:
            state = QueueState(raised, kept.settings, kept.snapshot, None, engine, list(kept.newcomers),
                               kept.changed | touched, read_at=kept.read_at)
        _kept[engine] = state


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    for key in (_WROTE, _VISITS, _OTHER, _RAISED_TO, _GROWN_FROM, waits.GROWN):
        session.info.pop(key, None)


def _base_for_newcomer(session: Session, day: dt.date, now: dt.datetime):
    """A copy of the kept state's snapshot for a check-in to grow, if it is the state this
    transaction sees (same version, same day, simulated within STALE_SECONDS of `now`:
    _prepare_for_newcomer ran it again before the transaction began, if time had left it behind)."""
    if not has_app_context():
        return None
    engine = db.engine
    kept = _kept.get(engine)
    if kept is None or kept.snapshot.day != day or abs(now - kept.now) >= dt.timedelta(seconds=STALE_SECONDS):
        return None
    if read_version(session) != kept.version:
        return None
    if not kept.ready:
        with _lock, Session(engine, expire_on_commit=False) as own:  # its own objects, not the request's
            kept.complete(own, board=False)
    session.info[_GROWN_FROM] = kept
    return kept.snapshot.copy()


waits.newcomer_base = _base_for_newcomer


def _prepare_for_newcomer() -> None:
    """Before a check-in's write transaction: a kept state that time has left behind (or that a
    call left to be completed) is brought up to date now, as any reader would (current()), so the
    check-in grows it. Inside the transaction that would mean a second connection and _lock while
    holding the write lock (a pool emptied by a burst would wait on itself), and without it the
    check-in simulated the whole day there (a third of a second with thousands waiting)."""
    if not has_app_context():
        return
    kept = _kept.get(db.engine)
    if kept is not None and (not kept.ready or not kept.fresh(kept.version, clock.utcnow())):
        current(board=False)


checkin.prepare_queue = _prepare_for_newcomer


def read_version(session: Session) -> int:
    return session.scalar(select(QueueVersion.version).where(QueueVersion.id == 1)) or 0


@dataclass
class QueueState:
    version: int
    settings: ClinicSettings
    snapshot: object  # waits.QueueSnapshot
    board: object  # display.board.Board; None until asked for (a state derived from a change)
    engine: object = None
    # Newcomers whose visit objects belong to their check-in's session: read again before use.
    newcomers: list = field(default_factory=list)
    # Visits written since the snapshot was simulated: read again, and the day run again, before use.
    changed: set = field(default_factory=set)
    _html: dict = field(default_factory=dict)
    read_at: dt.datetime | None = None  # when the queue was last read or caught up (states derived keep it)

    @property
    def ready(self) -> bool:
        """Its snapshot is whole (the board may still wait to be built)."""
        return not self.newcomers and not self.changed


    def complete(self, session: Session, board: bool = True) -> None:
        """A derived state made whole: its changed visits (and newcomers) read again as this
        process's own objects, the day run again if any changed, and its board built."""
        global completions
        ids = set(self.newcomers) | self.changed
        if ids:
            fresh = {v.id: v for v in session.scalars(waits.active_visits(self.snapshot.day, few=True)
                                                      .where(Visit.id.in_(ids))).unique()}
            if self.changed:
                day = self.snapshot.day
                active = [v for v in self.snapshot.active if v.id not in ids] + list(fresh.values())
                duty = self.snapshot.board.rebusied(busy_ids(session, day))
                self.snapshot = waits.QueueSnapshot.rebuilt(self.snapshot, active, duty)
                completions += 1
            else:  # newcomers only: the same objects, read in this process's session
                waiting, active = self.snapshot.waiting, self.snapshot.active
                for visit_id, visit in fresh.items():
                    index = self.snapshot.index_of.get(visit_id)
                    if index is None:
                        continue
                    old, waiting[index] = waiting[index], visit
                    # Newcomers were added last: look for the old object from the end.
                    at = next((i for i in range(len(active) - 1, -1, -1) if active[i] is old), None)
                    if at is not None:
                        active[at] = visit
            self.newcomers, self.changed = [], set()
        if board and self.board is None:
            from display.board import build_board

            self.board = build_board(session, self.snapshot, self.snapshot.day, self.settings.name,
                                     self.settings.mask_names_on_board)

    def retimed(self, session: Session, now: dt.datetime, board: bool) -> QueueState:
        """This (whole) state at a later instant of its day: same version, waits from `now`; what
        other processes re-told caught up first if it is CATCH_UP_SECONDS old."""
        global retimes, catch_ups
        read_at = self.read_at
        if read_at is None or now - read_at >= dt.timedelta(seconds=CATCH_UP_SECONDS):
            retell.catch_up(session, self.snapshot)
            read_at = now
            catch_ups += 1
        snapshot = waits.QueueSnapshot.retimed(self.snapshot, now, DutyBoard(session, now, self.snapshot.day))
        retimes += 1
        state = QueueState(self.version, self.settings, snapshot, None, self.engine, read_at=read_at)
        state.complete(session, board=board)
        return state

    @property
    def now(self) -> dt.datetime:
        return self.snapshot.now

    def board_html(self, line_code: str | None, lang: str) -> str:
        """A board room's fragment, rendered once per state."""
        key = (line_code, lang)
        if key not in self._html:
            from display.publisher import render_board

            self._html[key] = render_board(self.board.for_line(line_code), lang, self.settings)
        return self._html[key]

    def only_time_passed(self, version: int, now: dt.datetime) -> bool:
        """Same version, later: it may be retimed."""
        return version == self.version and self.now <= now

    def fresh(self, version: int, now: dt.datetime) -> bool:
        return version == self.version and dt.timedelta(0) <= now - self.now < dt.timedelta(seconds=STALE_SECONDS)


_lock = threading.Lock()
_kept: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per database engine
_raised_here: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per engine: versions this process raised


def raised_here(since: int, upto: int) -> bool:
    """Whether every version after `since` up to `upto` was raised by this process's commits."""
    here = _raised_here.get(db.engine, ())
    return since <= upto and all(v in here for v in range(since + 1, upto + 1))


reads = 0  # how many states this process has read afresh (tests count them)
completions = 0  # how many derived states were run again from their changed visits
retimes = 0  # how many kept states were run again because time passed
catch_ups = 0  # how many times re-tellings by other processes were caught up


def current(board: bool = True) -> QueueState:
    """The state at the queue's current version: kept, or read now (once, whoever asks at once).
    `board`: with its board built (the publish, the boards); an answer needing only the waits
    leaves that to the publish."""
    global reads
    engine = db.engine
    with Session(engine, expire_on_commit=False) as session:
        version = read_version(session)
        now = clock.utcnow()
        kept = _kept.get(engine)
        if kept is not None and kept.fresh(version, now) and kept.ready and (kept.board is not None or not board):
            return kept
        with _lock:
            kept = _kept.get(engine)
            if kept is not None and kept.fresh(version, now):
                kept.complete(session, board=board)
                return kept
            if kept is not None and kept.only_time_passed(version, now) \
                    and kept.snapshot.day == clinic_day(session, now):  # simulated again from now, not read
                started = time.perf_counter()
                kept.complete(session, board=False)
                _kept[engine] = state = kept.retimed(session, now, board)
                log.debug("ran the queue again from now in %.1f ms (%d waiting)",
                          (time.perf_counter() - started) * 1000, len(state.snapshot.waiting))
                return state
            from display.publisher import read_state

            started = time.perf_counter()
            settings, snapshot, board = read_state(session, now)
            log.debug("read the queue afresh in %.1f ms (%d waiting)",
                      (time.perf_counter() - started) * 1000, len(snapshot.waiting))
            reads += 1
            _kept[engine] = state = QueueState(version, settings, snapshot, board, engine, read_at=now)
            return state


def snapshot():
    """The waits as the screens show them (waits.QueueSnapshot), without waiting for a board."""
    return current(board=False).snapshot


def estimate(visit: Visit):
    """A visitor's wait as the screens show it: from the kept state when it is of their day."""
    state = current(board=False)
    if visit.clinic_day == state.snapshot.day:
        return state.snapshot.for_visit(visit)
    return waits.estimate_for_visit(db.session, visit)
