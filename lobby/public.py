"""Pages outside the three surfaces: the visitor's own ticket page (/t/<token>)."""

from flask import Blueprint, render_template

from .domain import waits
from .domain.errors import NotFound
from .domain.visits import get_visit
from .extensions import db
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
