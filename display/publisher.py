"""What the boards are sent: the board rendered once per board room (all lines or one line, in each
language) and broadcast, and each call with the words the board speaks.

The cost of a change does not grow with the number of screens: a render per room, one emit each.
"""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale, gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from lobby import queue_state
from lobby.domain import clock
from lobby.domain.settings import LANGUAGES, clinic_day, get_settings
from lobby.domain.waits import QueueSnapshot
from lobby.extensions import socketio
from lobby.models import Line

from .board import Board, build_board

NAMESPACE = "/display"
CALL_EVENTS = ("visit.recalled", "visit.status_changed")


def board_room(line_code: str | None, lang: str) -> str:
    return f"board:{line_code or '*'}:{lang}"


def resolve_line(session: Session, wanted: str | None) -> Line | None:
    """A board's ?line= names a line by code or ticket prefix (B); unknown means all lines."""
    if not wanted or not isinstance(wanted, str):
        return None
    return session.scalars(
        select(Line).where(Line.active, (Line.code == wanted) | (Line.prefix == wanted.upper()))
    ).first()


def read_state(session: Session, now=None):
    """The queue as boards and phones see it: (settings, snapshot, board). Read once per change
    through lobby/queue_state.py, which keeps it by version."""
    now = now or clock.utcnow()
    settings = get_settings(session)
    day = clinic_day(session, now)
    snapshot = QueueSnapshot(session, day, now)
    board = build_board(session, snapshot, day, settings.name, settings.mask_names_on_board)
    return settings, snapshot, board


def render_board(board: Board, lang: str, settings) -> str:
    """The live part of a board in one language (needs an app context, not a request)."""
    with force_locale(lang):
        return render_template("display/_board.html", board=board, settings=settings)


def speech_text(settings, ticket: str, room: str | None) -> str | None:
    """What the board says aloud, in the clinic's chosen language ("请 B007 号到 3 号咨询室")."""
    if not settings.speech_enabled:
        return None
    lang = settings.speech_language if settings.speech_language in LANGUAGES else "zh_CN"
    with force_locale(lang):
        if room:
            return gettext("Number %(ticket)s, please go to consulting room %(room)s.", ticket=ticket, room=room)
        return gettext("Number %(ticket)s, please come to the front desk.", ticket=ticket)


def publish(batch, state) -> None:
    """Every board room gets the new board (the calls of the change were announced already)."""
    version = state.version
    for code in [None] + [lb.line.code for lb in state.board.lines]:
        for lang in LANGUAGES:
            socketio.emit("board", {"html": state.board_html(code, lang), "version": version},
                          namespace=NAMESPACE, to=board_room(code, lang))


def is_call(evt) -> bool:
    return evt.name in CALL_EVENTS and evt.data.get("status") == "called"


def announce(session: Session, batch) -> None:
    """The boards of a called ticket's line get the call at once, before the queue is read for the
    new board: the chime and the spoken call need only what the change itself says."""
    found = [evt for evt in batch if is_call(evt)]
    if not found:
        return
    settings = get_settings(session)
    version = queue_state.read_version(session)
    for call in calls(found, settings, version):
        rooms = [board_room(code, lang) for code in (None, call["line"]) for lang in LANGUAGES]
        socketio.emit("call", call, namespace=NAMESPACE, to=rooms)


def calls(batch, settings, version: int):
    """The calls in a batch of committed events, as the boards announce them."""
    for evt in batch:
        if not is_call(evt):
            continue
        room = evt.data.get("room")
        yield {
            "ticket": evt.data["ticket"],
            "line": evt.data["line"],
            "room": room,
            "consultant": evt.data.get("consultant"),
            "recall": evt.name == "visit.recalled",
            "speech": speech_text(settings, evt.data["ticket"], room),
            "speech_lang": settings.speech_language,
            "version": version,
        }
