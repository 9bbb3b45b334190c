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
        self.states: dict[str, dict] = {}  # by public id
        self.estimates: dict | None = None  # the snapshot's estimates those states were made from

    def usable(self, version: int) -> bool:
        return self.version is not None and queue_state.raised_here(self.version, version)


_sent: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per database engine


def forget() -> None:
    """What was sent is no longer known to have arrived: the next publish sends every phone its state."""
    _sent.pop(db.engine, None)


def publish(session: Session, batch, snapshot: QueueSnapshot, version: int, retold=()) -> None:
    """The phones of the visits that changed (or were re-told), and of every waiting visitor whose
    position or wait moved, get their own state; the others are left alone. Only the waiting whose
    estimate is not the one last sent are looked at: a check-in costs one phone, not the queue."""
    changed = {evt.data["visit"] for evt in batch if "visit" in evt.data} | {v.public_id for v in retold}
    if any(evt.name == events.REPUBLISHED for evt in batch):  # everyone in play, the called too
        changed |= {v.public_id for v in snapshot.active}
    sent = _sent.setdefault(db.engine, SentStates())
    usable = sent.usable(version)
    last = sent.states if usable else {}
    looked_at = {}
    for visit_id in snapshot.moved_since(sent.estimates if usable else None):
        visit = snapshot.waiting_visit(visit_id)
        looked_at[visit.public_id] = visit
    others = set()
    for public_id in changed - looked_at.keys():
        visit = snapshot.waiting_visit(public_id=public_id)
        if visit is None:
            others.add(public_id)
        else:
            looked_at[public_id] = visit
    if others:
        looked_at.update((v.public_id, v) for v in session.scalars(select(Visit).where(Visit.public_id.in_(others))))
    waiting = snapshot.index_of_public
    states = {public_id: state for public_id, state in last.items() if public_id in waiting}
    for public_id, visit in looked_at.items():
        state = ticket_state(visit, snapshot)
        if public_id in changed or last.get(public_id) != state:
            socketio.emit("ticket", {**state, "version": version}, namespace=NAMESPACE,
                          to=ticket_room(public_id))
        if public_id in waiting:
            states[public_id] = state
    sent.version, sent.states, sent.estimates = version, states, snapshot.estimates
