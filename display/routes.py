"""Queue board views."""

from flask import render_template

from lobby.domain import waits
from lobby.domain.settings import get_settings
from lobby.extensions import db

from . import bp


@bp.get("/", endpoint="board")
def board():
    snapshot = waits.snapshot(db.session)
    return render_template("display/board.html", lines=snapshot.lines(db.session),
                           settings=get_settings(db.session))
