"""The /admin namespace: open staff sessions only. It carries "queue-changed" pings without personal
data; the panel re-fetches its fragments over HTTP, where the session is checked again."""

import time

from flask_login import current_user
from flask_socketio import Namespace, emit, join_room

from lobby.extensions import socketio

from .auth import session_is_idle

NAMESPACE = "/admin"


def staff_room(staff_id: int) -> str:
    return f"staff:{staff_id}"


def staff_session_room(session_id: int) -> str:
    """The sockets of one login (one laptop), so that its logout ends them and no others."""
    return f"staff-session:{session_id}"


class AdminNamespace(Namespace):
    def on_connect(self, auth=None):
        # current_user is loaded from the server-side session: a cookie kept from before a logout,
        # or of a disabled account, or left idle too long, is refused here as on every page.
        if not current_user.is_authenticated or session_is_idle():
            raise ConnectionRefusedError("staff login required")
        join_room(staff_room(current_user.id))
        join_room(staff_session_room(current_user.session_id))
        emit("queue-changed", {"version": time.time()})


socketio.on_namespace(AdminNamespace(NAMESPACE))


def ping(staff_ids, version: float) -> None:
    """Tell every open panel that the queue changed (they re-fetch what they show)."""
    if staff_ids:
        socketio.emit("queue-changed", {"version": version}, namespace=NAMESPACE,
                      to=[staff_room(i) for i in staff_ids])


def end_staff_sockets(staff_id: int, session_id: int | None = None) -> None:
    """After a logout (one session) or a disabled account / new password (all of them): tell the
    panels, then drop their sockets. Sockets on another process are told over the message queue and
    leave on their own; they could not reconnect, as their session is ended."""
    room = staff_session_room(session_id) if session_id else staff_room(staff_id)
    socketio.emit("session-ended", {}, namespace=NAMESPACE, to=room)
    server = socketio.server
    for sid, _ in list(server.manager.get_participants(NAMESPACE, room)):
        server.disconnect(sid, namespace=NAMESPACE)
    socketio.close_room(room, namespace=NAMESPACE)
