"""The queue as the screens and the API see it, read once per change and shared.

A change raises the queue's version in its own transaction (QueueVersion, below: any commit with
domain events or that changed visits, staff, the roster, the clinic's settings, lines or
services). The state — the wait simulation, the board, each board room's rendered fragment — is
read once per version in each process and kept: the publish after a change, the API's answer to
that change, every board (re)connecting, a phone opening its page all take it for the price of
reading one number. Waits move as time passes: a state older than STALE_SECONDS is read again
even if nothing changed.

A check-in costs less still: its newcomer is added to a copy of the kept state's simulated day
(waits.estimate_for_visit, forecast.add_last — the same answer as running the day again), and
that grown copy becomes the next version's state once the check-in commits, if nothing else
changed in between: the cost of a check-in does not grow with the queue.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from dataclasses import dataclass, field

from flask import has_app_context
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, selectinload

from .domain import clock, events, waits
from .extensions import db
from .models import (
    ClinicSettings,
    DayClose,
    Line,
    QueueVersion,
    RosterShift,
    Service,
    Staff,
    Visit,
)

STALE_SECONDS = 15
_SHOWN = (Visit, Staff, RosterShift, ClinicSettings, Line, Service, DayClose)
_WROTE = "lobby_queue_touched"
_RAISED_TO = "lobby_queue_version"
_GROWN_FROM = "lobby_grown_from"
# What a check-in's transaction may record besides the check-in and still leave the queue as grown.
_BESIDES_A_CHECK_IN = {"visit.questionnaire", "visit.noted", "appointment.changed"}


@event.listens_for(Session, "after_flush")
def _note_queue_changes(session: Session, _context) -> None:
    if any(isinstance(obj, _SHOWN) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[_WROTE] = True


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
def _keep_grown(session: Session) -> None:
    """A check-in committed: the snapshot it grew is the new version's state, if that version is the
    kept one's next and the transaction changed nothing else the screens show."""
    grown, raised = session.info.pop(waits.GROWN, None), session.info.pop(_RAISED_TO, None)
    base = session.info.pop(_GROWN_FROM, None)
    if grown is None or base is None or raised != base.version + 1:
        return
    names = [evt.name for evt in events.committed(session)]
    if names.count("visit.checked_in") != 1 or not set(names) <= _BESIDES_A_CHECK_IN | {"visit.checked_in"}:
        return
    snapshot, newcomer_id = grown
    with _lock:
        _kept[base.engine] = QueueState(raised, base.settings, snapshot, None, base.engine, [newcomer_id])


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    for key in (_WROTE, _RAISED_TO, _GROWN_FROM, waits.GROWN):
        session.info.pop(key, None)


def _base_for_newcomer(session: Session, day: dt.date, now: dt.datetime):
    """A copy of the kept state's snapshot for a check-in to grow, if it is the state this
    transaction sees (same version, same day, not stale)."""
    if not has_app_context():
        return None
    kept = _kept.get(db.engine)
    if kept is None or kept.snapshot.day != day or not kept.fresh(kept.version, now):
        return None
    if read_version(session) != kept.version:
        return None
    session.info[_GROWN_FROM] = kept
    return kept.snapshot.copy()


waits.newcomer_base = _base_for_newcomer


def read_version(session: Session) -> int:
    return session.scalar(select(QueueVersion.version).where(QueueVersion.id == 1)) or 0


@dataclass
class QueueState:
    version: int
    settings: ClinicSettings
    snapshot: object  # waits.QueueSnapshot
    board: object  # display.board.Board; None until asked for (a state grown by a check-in)
    engine: object = None
    # Newcomers whose visit objects belong to their check-in's session: read again before use.
    newcomers: list = field(default_factory=list)
    _html: dict = field(default_factory=dict)

    def complete(self, session: Session) -> None:
        """A grown state's board, and its newcomers as this process's own objects."""
        if self.newcomers:
            fresh = {v.id: v for v in session.scalars(
                select(Visit).where(Visit.id.in_(self.newcomers))
                .options(selectinload(Visit.service), selectinload(Visit.line), selectinload(Visit.client),
                         selectinload(Visit.consultant)))}
            waiting = self.snapshot.waiting
            for index, visit in enumerate(waiting):
                if visit.id in fresh:
                    waiting[index] = fresh[visit.id]
            self.newcomers = []
        if self.board is None:
            from display.board import build_board

            self.board = build_board(session, self.snapshot, self.snapshot.day, self.settings.name,
                                     self.settings.mask_names_on_board)

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

    def fresh(self, version: int, now: dt.datetime) -> bool:
        return version == self.version and dt.timedelta(0) <= now - self.now < dt.timedelta(seconds=STALE_SECONDS)


_lock = threading.Lock()
_kept: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per database engine
reads = 0  # how many states this process has read (tests count them)


def current() -> QueueState:
    """The state at the queue's current version: kept, or read now (once, whoever asks at once)."""
    global reads
    engine = db.engine
    with Session(engine, expire_on_commit=False) as session:
        version = read_version(session)
        now = clock.utcnow()
        kept = _kept.get(engine)
        if kept is not None and kept.fresh(version, now) and kept.board is not None:
            return kept
        with _lock:
            kept = _kept.get(engine)
            if kept is not None and kept.fresh(version, now):
                kept.complete(session)
                return kept
            from display.publisher import read_state

            settings, snapshot, board = read_state(session, now)
            reads += 1
            _kept[engine] = state = QueueState(version, settings, snapshot, board, engine)
            return state


def estimate(visit: Visit):
    """A visitor's wait as the screens show it: from the kept state when it is of their day."""
    state = current()
    if visit.clinic_day == state.snapshot.day:
        return state.snapshot.for_visit(visit)
    return waits.estimate_for_visit(db.session, visit)
