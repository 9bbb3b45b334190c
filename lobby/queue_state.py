"""The queue as the screens and the API see it, read once per change and shared.

A change raises the queue's version in its own transaction (QueueVersion, below: any commit with
domain events or that changed visits, staff, the roster, the clinic's settings, lines or
services). The state — the wait simulation, the board, each board room's rendered fragment — is
read once per version in each process and kept: the publish after a change, the API's answer to
that change, every board (re)connecting, a phone opening its page all take it for the price of
reading one number. Waits move as time passes: a state older than STALE_SECONDS is read again
even if nothing changed.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from dataclasses import dataclass, field

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from .domain import clock, events
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
                             .values(version=QueueVersion.version + 1)).rowcount
    if not raised:  # a database made by create_all (tests, a first start) has no row yet
        session.add(QueueVersion(id=1, version=1))
        session.flush()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_WROTE, None)


def read_version(session: Session) -> int:
    return session.scalar(select(QueueVersion.version).where(QueueVersion.id == 1)) or 0


@dataclass
class QueueState:
    version: int
    settings: ClinicSettings
    snapshot: object  # waits.QueueSnapshot
    board: object  # display.board.Board
    _html: dict = field(default_factory=dict)

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
        if kept is not None and kept.fresh(version, now):
            return kept
        with _lock:
            kept = _kept.get(engine)
            if kept is not None and kept.fresh(version, now):
                return kept
            from display.publisher import read_state

            settings, snapshot, board = read_state(session, now)
            reads += 1
            _kept[engine] = state = QueueState(version, settings, snapshot, board)
            return state
