"""Realtime: domain events, once committed, reach every screen over Socket.IO.

Namespaces (CONTRACT.md):
- /display: public boards. The server renders the board once per board room
  (all lines or one line, per language) and broadcasts the fragment; the
  cost of a change does not grow with the number of screens.
- /ticket: a visitor's phone, in a room named by the server after checking
  the phone's signed ticket token; it gets only its own position and wait.
- /admin: staff only. It carries "queue-changed" pings without personal data;
  the panel re-fetches its fragments over HTTP, where the session is checked.

Every payload carries `version` (the time the state was read); a screen keeps
the newest it has seen, so a late message from another process cannot roll
it back. On every (re)connect a screen gets the whole current state.
"""

from __future__ import annotations

import logging
import time

from flask import (
    Flask,
    current_app,
    has_app_context,
    has_request_context,
    render_template,
)
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from .domain import clock, events
from .domain.board import Board, build_board, ticket_state
from .domain.settings import clinic_day, get_settings
from .domain.waits import QueueSnapshot
from .extensions import db, socketio
from .models import Line, Staff, Visit

log = logging.getLogger(__name__)

LANGUAGES = ("zh_CN", "en")
CALL_EVENTS = ("visit.recalled", "visit.status_changed")


def board_room(line_code: str | None, lang: str) -> str:
    return f"board:{line_code or '*'}:{lang}"


def ticket_room(public_id: str) -> str:
    return f"ticket:{public_id}"


def staff_room(staff_id: int) -> str:
    return f"staff:{staff_id}"


def staff_session_room(session_id: int) -> str:
    """The sockets of one login (one laptop), so that its logout ends them and no others."""
    return f"staff-session:{session_id}"


def resolve_line(session: Session, wanted: str | None) -> Line | None:
    """A board's ?line= names a line by code or ticket prefix (B); unknown means all lines."""
    if not wanted or not isinstance(wanted, str):
        return None
    return session.scalars(
        select(Line).where(Line.active, (Line.code == wanted) | (Line.prefix == wanted.upper()))
    ).first()


def read_state(session: Session):
    """The queue as a board sees it, read once for every board and phone."""
    version = time.time()
    now = clock.utcnow()
    settings = get_settings(session)
    day = clinic_day(session, now)
    snapshot = QueueSnapshot(session, day, now)
    board = build_board(session, snapshot, day, settings.name, settings.mask_names_on_board)
    return version, settings, snapshot, board


def render_board(board: Board, lang: str, settings) -> str:
    def render():
        with force_locale(lang):
            return render_template("display/_board.html", board=board, settings=settings)

    if has_request_context():
        return render()
    with current_app.test_request_context("/display/"):
        return render()


def speech_text(settings, ticket: str, room: str | None) -> str | None:
    """What the board says aloud, in the clinic's chosen language ("请 B007 号到 3 号咨询室")."""
    if not settings.speech_enabled:
        return None
    from flask_babel import gettext

    lang = settings.speech_language if settings.speech_language in LANGUAGES else "zh_CN"
    with force_locale(lang):
        if room:
            return gettext("Number %(ticket)s, please go to consulting room %(room)s.", ticket=ticket, room=room)
        return gettext("Number %(ticket)s, please come to the front desk.", ticket=ticket)


def end_staff_sockets(staff_id: int, session_id: int | None = None) -> None:
    """After a logout (one session) or a disabled account / new password (all of them): tell the
    panels, then drop their sockets. Sockets on another process are told over the message queue and
    leave on their own; they could not reconnect, as their session is ended."""
    room = staff_session_room(session_id) if session_id else staff_room(staff_id)
    socketio.emit("session-ended", {}, namespace="/admin", to=room)
    server = socketio.server
    for sid, _ in list(server.manager.get_participants("/admin", room)):
        server.disconnect(sid, namespace="/admin")
    socketio.close_room(room, namespace="/admin")


class Realtime:
    """Publishes committed domain events to the three namespaces."""

    def init_app(self, app: Flask) -> None:
        app.extensions["lobby_realtime"] = self
        events.subscribe(self.on_commit)

    def on_commit(self, batch: list[events.DomainEvent]) -> None:
        if not has_app_context() or "lobby_realtime" not in current_app.extensions:
            return
        started = time.perf_counter()
        for evt in batch:
            if evt.name == "staff.sessions_ended":
                end_staff_sockets(evt.data["staff"], evt.data.get("staff_session"))
        batch = [evt for evt in batch if evt.name != "staff.sessions_ended"]
        if not batch:
            return
        # A session of its own: the committing one belongs to the caller.
        with Session(db.engine) as session:
            self.publish(session, batch)
        log.debug("published %d event(s) in %.1f ms", len(batch), (time.perf_counter() - started) * 1000)

    def publish(self, session: Session, batch: list[events.DomainEvent]) -> None:
        version, settings, snapshot, board = read_state(session)
        line_codes = [None] + [lb.line.code for lb in board.lines]
        for code in line_codes:
            for lang in LANGUAGES:
                html = render_board(board.for_line(code), lang, settings)
                socketio.emit("board", {"html": html, "version": version}, namespace="/display",
                              to=board_room(code, lang))
        for call in self._calls(batch, board, settings, version):
            rooms = [board_room(code, lang) for code in (None, call["line"]) for lang in LANGUAGES]
            socketio.emit("call", call, namespace="/display", to=rooms)
        self._publish_tickets(session, batch, snapshot, version)
        staff_ids = session.scalars(select(Staff.id).where(Staff.active)).all()
        if staff_ids:
            socketio.emit("queue-changed", {"version": version}, namespace="/admin",
                          to=[staff_room(i) for i in staff_ids])

    @staticmethod
    def _calls(batch, board: Board, settings, version):
        calls_by_ticket = {c.ticket: c for c in board.calls}
        for evt in batch:
            if evt.name not in CALL_EVENTS or evt.data.get("status") != "called":
                continue
            call = calls_by_ticket.get(evt.data["ticket"])
            room = call.room if call else evt.data.get("room")
            yield {
                "ticket": evt.data["ticket"],
                "line": evt.data["line"],
                "room": room,
                "consultant": call.consultant if call else None,
                "recall": evt.name == "visit.recalled",
                "speech": speech_text(settings, evt.data["ticket"], room),
                "speech_lang": settings.speech_language,
                "version": version,
            }

    @staticmethod
    def _publish_tickets(session, batch, snapshot: QueueSnapshot, version) -> None:
        changed = {evt.data["visit"] for evt in batch if "visit" in evt.data}
        waiting_ids = {v.public_id for v in snapshot.waiting}
        others = changed - waiting_ids
        visits = list(snapshot.waiting)
        if others:
            visits += session.scalars(select(Visit).where(Visit.public_id.in_(others))).all()
        for visit in visits:
            socketio.emit("ticket", {**ticket_state(visit, snapshot), "version": version}, namespace="/ticket",
                          to=ticket_room(visit.public_id))


realtime = Realtime()
