"""Pages outside the three surfaces: the visitor's own ticket page (/t/<token>)."""

import time

from flask import Blueprint, jsonify, render_template
from flask_socketio import emit, join_room

from .domain import clock, waits
from .domain.board import ticket_state
from .domain.errors import NotFound
from .domain.lookups import get_visit
from .extensions import db, socketio
from .messages import message_for
from .realtime import ticket_room
from .tokens import TokenError, read_ticket_token

bp = Blueprint("public", __name__)


def _visit_state(token: str):
    visit = get_visit(db.session, read_ticket_token(token))
    snapshot = waits.QueueSnapshot(db.session, visit.clinic_day, clock.utcnow())
    return visit, {**ticket_state(visit, snapshot), "version": time.time()}


@bp.get("/t/<token>", endpoint="ticket_page")
def ticket_page(token: str):
    """A visitor's ticket: position and expected wait, nothing another person could use."""
    try:
        visit, state = _visit_state(token)
    except (TokenError, NotFound):
        return render_template("ticket/invalid.html"), 404
    page = render_template("ticket/page.html", visit=visit, state=state, token=token, version=state["version"])
    return page, 200, {"Cache-Control": "no-store"}


@bp.get("/t/<token>/state.json", endpoint="ticket_state_json")
def ticket_state_json(token: str):
    """The slow-poll fallback of the ticket page."""
    try:
        _, state = _visit_state(token)
    except (TokenError, NotFound):
        return jsonify({"error": {"code": "token_invalid", "message": message_for("token_invalid")}}), 404
    return jsonify(state), 200, {"Cache-Control": "no-store"}


@socketio.on("connect", namespace="/ticket")
def ticket_connect(auth=None):
    """A phone joins the room of the ticket its signed token names, and nothing else."""
    token = auth.get("token") if isinstance(auth, dict) else None
    if not isinstance(token, str):
        raise ConnectionRefusedError("ticket token required")
    try:
        visit, state = _visit_state(token)
    except (TokenError, NotFound):
        raise ConnectionRefusedError("invalid ticket") from None
    join_room(ticket_room(visit.public_id))
    emit("ticket", state)
