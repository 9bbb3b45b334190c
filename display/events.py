"""The /display namespace: public boards. The server picks the room from the board's line."""

import time

from flask import session
from flask_socketio import Namespace, emit, join_room

from lobby import queue_state
from lobby.extensions import db, socketio

from .publisher import LANGUAGES, NAMESPACE, board_room, resolve_line

SYNC_INTERVAL_SECONDS = 20  # a board may ask for the whole state at most this often


def send_board(code, lang) -> None:
    """The whole board, as kept for the queue's current version: a (re)connect costs a look at the
    version, not a render (lobby/queue_state.py)."""
    state = queue_state.current()
    emit("board", {"html": state.board_html(code, lang), "version": state.version})


class BoardNamespace(Namespace):
    def on_connect(self, auth=None):
        """Join the room for this board's line and language, and get the whole board at once."""
        auth = auth if isinstance(auth, dict) else {}
        line = resolve_line(db.session, auth.get("line"))
        code = line.code if line else None
        lang = auth.get("lang") if auth.get("lang") in LANGUAGES else "zh_CN"
        join_room(board_room(code, lang))
        # Flask-SocketIO keeps this session per connection, server-side.
        session["board"] = (code, lang)
        session["synced_at"] = time.monotonic()
        send_board(code, lang)

    def on_sync(self):
        """Waits change as time passes: a board re-reads the whole state now and then."""
        if "board" not in session or time.monotonic() - session.get("synced_at", 0) < SYNC_INTERVAL_SECONDS:
            return
        session["synced_at"] = time.monotonic()
        send_board(*session["board"])


socketio.on_namespace(BoardNamespace(NAMESPACE))
