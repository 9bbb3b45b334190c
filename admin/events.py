"""The /admin namespace: open staff sessions only; pings that tell the panel to re-fetch."""

import time

from flask_login import current_user
from flask_socketio import emit, join_room

from lobby.extensions import socketio
from lobby.realtime import staff_room, staff_session_room

from .auth import session_is_idle


@socketio.on("connect", namespace="/admin")
def connect(auth=None):
    # current_user is loaded from the server-side session: a cookie kept from before a logout,
    # or of a disabled account, or left idle too long, is refused here as on every page.
    if not current_user.is_authenticated or session_is_idle():
        raise ConnectionRefusedError("staff login required")
    join_room(staff_room(current_user.id))
    join_room(staff_session_room(current_user.session_id))
    emit("queue-changed", {"version": time.time()})
