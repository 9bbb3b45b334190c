"""The visitor's ticket page (/t/<token>) and its slow-poll fallback."""

from flask import jsonify, render_template

from lobby import queue_state
from lobby.domain import clock, waits
from lobby.domain.errors import NotFound
from lobby.domain.lookups import get_visit
from lobby.extensions import db
from lobby.messages import message_for
from lobby.tokens import TokenError, read_ticket_token

from . import bp
from .state import ticket_state


def visit_state(token: str):
    """The visit a signed ticket token names, and what its phone may show; TokenError or NotFound."""
    visit = get_visit(db.session, read_ticket_token(token))
    state = queue_state.current(board=False)
    snapshot = state.snapshot
    if visit.clinic_day != snapshot.day:  # a ticket of another day: read on its own
        snapshot = waits.QueueSnapshot(db.session, visit.clinic_day, clock.utcnow())
    return visit, {**ticket_state(visit, snapshot), "version": state.version}


@bp.get("/t/<token>", endpoint="page")
def page(token: str):
    """A visitor's ticket: position and expected wait, nothing another person could use."""
    try:
        visit, state = visit_state(token)
    except (TokenError, NotFound):
        return render_template("ticket/invalid.html"), 404
    return render_template("ticket/page.html", visit=visit, state=state, token=token, version=state["version"])


@bp.get("/t/<token>/state.json", endpoint="state")
def state_json(token: str):
    """The slow-poll fallback of the ticket page."""
    try:
        _, state = visit_state(token)
    except (TokenError, NotFound):
        return jsonify({"error": {"code": "token_invalid", "message": message_for("token_invalid")}}), 404
    return jsonify(state)
