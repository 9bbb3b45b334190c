"""Pages outside the three surfaces: the visitor's own ticket page (/t/<token>)."""

import time

from flask import Blueprint, render_template
from flask_socketio import emit, join_room

from .domain import clock, waits
from .domain.board import ticket_state
from .domain.errors import NotFound
from .domain.visits import get_visit
from .extensions import db, socketio
from .realtime import ticket_room
from .tokens import TokenError, read_ticket_token

bp = Blueprint("public", __name__)


@bp.get("/t/<token>", endpoint="ticket_page")
def ticket_page(token: str):
    """A visitor's ticket: position and expected wait, nothing another person could use."""
    try:
        visit = get_visit(db.session, read_ticket_token(token))
    except (TokenError, NotFound):
        return render_template("ticket/invalid.html"), 404
    estimate = waits.estimate_for_visit(db.session, visit)
    response = render_template("ticket/page.html", visit=visit, estimate=estimate)
    return response, 200, {"Cache-Control": "no-store"}


@socketio.on("connect", namespace="/ticket")
def ticket_connect(auth=None):
    """A phone joins the room of the ticket its signed token names, and nothing else."""
    token = auth.get("token") if isinstance(auth, dict) else None
    if not isinstance(token, str):
        raise ConnectionRefusedError("ticket token required")
    try:
        visit = get_visit(db.session, read_ticket_token(token))
    except (TokenError, NotFound):
        raise ConnectionRefusedError("invalid ticket") from None
    join_room(ticket_room(visit.public_id))
    snapshot = waits.QueueSnapshot(db.session, visit.clinic_day, clock.utcnow())
    emit("ticket", {**ticket_state(visit, snapshot), "version": time.time()})
