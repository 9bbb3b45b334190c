"""What a visitor's phone may know of their own ticket, and nothing of anyone else's."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lobby.domain.waits import QueueSnapshot
from lobby.extensions import socketio
from lobby.models import Visit, VisitStatus

NAMESPACE = "/ticket"


def ticket_room(public_id: str) -> str:
    return f"ticket:{public_id}"


def ticket_state(visit: Visit, snapshot: QueueSnapshot) -> dict:
    """What a visitor's phone shows of their own ticket."""
    estimate = snapshot.for_visit(visit)
    waiting = visit.status == VisitStatus.WAITING
    return {
        "ticket": visit.ticket,
        "status": visit.status.value,
        "position": estimate.position if waiting else 0,
        "ahead": max(estimate.position - 1, 0) if waiting else 0,
        # None (JSON null) when nobody on duty can serve them: the page says the desk will tell them.
        "expected_wait_minutes": estimate.minutes if waiting else 0,
        "room": visit.consultant.room if visit.consultant and visit.status == VisitStatus.CALLED else None,
    }


def publish(session: Session, batch, snapshot: QueueSnapshot, version: float) -> None:
    """Every waiting visitor's phone, and those of the visits that changed, get their own state."""
    changed = {evt.data["visit"] for evt in batch if "visit" in evt.data}
    waiting_ids = {v.public_id for v in snapshot.waiting}
    others = changed - waiting_ids
    visits = list(snapshot.waiting)
    if others:
        visits += session.scalars(select(Visit).where(Visit.public_id.in_(others))).all()
    for visit in visits:
        socketio.emit("ticket", {**ticket_state(visit, snapshot), "version": version}, namespace=NAMESPACE,
                      to=ticket_room(visit.public_id))
