"""What a visitor's phone may know of their own ticket, and nothing of anyone else's."""

from __future__ import annotations

import weakref

from sqlalchemy import select
from sqlalchemy.orm import Session

from lobby import queue_state
from lobby.domain import events
from lobby.domain.waits import QueueSnapshot
from lobby.extensions import db, socketio
from lobby.models import Visit, VisitStatus

NAMESPACE = "/ticket"


def ticket_room(public_id: str) -> str:
    return f"ticket:{public_id}"


# "Almost your turn": at most one visitor before them and a short wait (not a consultant away an hour).
ALMOST_AHEAD, ALMOST_MINUTES = 1, 15


def ticket_state(visit: Visit, snapshot: QueueSnapshot) -> dict:
    """What a visitor's phone shows of their own ticket."""
    estimate = snapshot.for_visit(visit)
    waiting = visit.status == VisitStatus.WAITING
    ahead = max(estimate.position - 1, 0) if waiting else 0
    return {
        "ticket": visit.ticket,
        "status": visit.status.value,
        "position": estimate.position if waiting else 0,
        "ahead": ahead,
        "almost": waiting and ahead <= ALMOST_AHEAD and estimate.minutes is not None
        and estimate.minutes <= ALMOST_MINUTES,
        # None (JSON null) when nobody on duty can serve them: the page says the desk will tell them.
        "expected_wait_minutes": estimate.minutes if waiting else 0,
        "expected_wait_max_minutes": estimate.upper if waiting else 0,
        # When their wait was last told again (the page shows a gentle notice once per new value).
        "wait_retold_at": visit.retold_at.isoformat() if waiting and visit.retold_at else None,
        "room": visit.consultant.room if visit.consultant and visit.status == VisitStatus.CALLED else None,
    }


class SentStates:
    """What this process last sent each waiting visitor's phone, so a change reaches only the phones
    whose ticket it moved (a check-in, last in the queue, moves nobody else's). Trusted only while
    every version since the last publish was this process's own: a change made by another process
    was published to the phones by that process, with states this one never saw."""

    def __init__(self):
        self.version = None
        self.states: dict[str, dict] = {}

    def usable(self, version: int) -> bool:
        return self.version is not None and queue_state.raised_here(self.version, version)


_sent: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per database engine


def forget() -> None:
    """What was sent is no longer known to have arrived: the next publish sends every phone its state."""
    _sent.pop(db.engine, None)


def publish(session: Session, batch, snapshot: QueueSnapshot, version: int) -> None:
    """The phones of the visits that changed, and of every waiting visitor whose position or wait
    moved, get their own state; the others are left alone."""
    changed = {evt.data["visit"] for evt in batch if "visit" in evt.data}
    if any(evt.name == events.REPUBLISHED for evt in batch):  # everyone in play, the called too
        changed |= {v.public_id for v in snapshot.active}
    waiting_ids = {v.public_id for v in snapshot.waiting}
    others = changed - waiting_ids
    visits = list(snapshot.waiting)
    if others:
        visits += session.scalars(select(Visit).where(Visit.public_id.in_(others))).all()
    sent = _sent.setdefault(db.engine, SentStates())
    last = sent.states if sent.usable(version) else {}
    states = {}
    for visit in visits:
        state = ticket_state(visit, snapshot)
        if visit.public_id in changed or last.get(visit.public_id) != state:
            socketio.emit("ticket", {**state, "version": version}, namespace=NAMESPACE,
                          to=ticket_room(visit.public_id))
        if visit.public_id in waiting_ids:
            states[visit.public_id] = state
    sent.version, sent.states = version, states
