"""The /admin namespace: staff sessions only; pings that tell the panel to re-fetch."""

import time

from flask_login import current_user
from flask_socketio import emit, join_room

from lobby.extensions import socketio
from lobby.realtime import staff_room


@socketio.on("connect", namespace="/admin")
def connect(auth=None):
    if not current_user.is_authenticated:
        raise ConnectionRefusedError("staff login required")
    join_room(staff_room(current_user.id))
    emit("queue-changed", {"version": time.time()})


def end_staff_sockets(staff_id: int) -> None:
    """After a logout: tell the staff member's open panels, then drop them from every broadcast."""
    room = staff_room(staff_id)
    socketio.emit("session-ended", {}, namespace="/admin", to=room)
    socketio.close_room(room, namespace="/admin")
