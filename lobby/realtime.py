"""Realtime: domain events, once committed, reach every screen over Socket.IO.

Each screen owns its namespace and what it is sent: the boards (display/), a
visitor's phone (ticket/), the staff panels (admin/). This module only wires
them to the domain: after each commit it reads the queue once and hands that
one reading to each of them.

Every payload carries `version` (the time the state was read); a screen keeps
the newest it has seen, so a late message from another process cannot roll
it back. On every (re)connect a screen gets the whole current state.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from .domain import events
from .extensions import db
from .models import Staff

log = logging.getLogger(__name__)
SESSIONS_ENDED = "staff.sessions_ended"


class Realtime:
    """Publishes committed domain events to the boards, the phones and the staff panels."""

    def init_app(self, app: Flask) -> None:
        app.extensions["lobby_realtime"] = self
        events.subscribe(self.on_commit)

    def on_commit(self, batch: list[events.DomainEvent]) -> None:
        if not has_app_context() or "lobby_realtime" not in current_app.extensions:
            return
        from admin.events import end_staff_sockets

        started = time.perf_counter()
        for evt in batch:
            if evt.name == SESSIONS_ENDED:
                end_staff_sockets(evt.data["staff"], evt.data.get("staff_session"))
        batch = [evt for evt in batch if evt.name != SESSIONS_ENDED]
        if not batch:
            return
        # A session of its own: the committing one belongs to the caller.
        # (Objects stay loaded across the re-telling's commit: the phones read them right after.)
        with Session(db.engine, expire_on_commit=False) as session:
            self.publish(session, batch)
        log.debug("published %d event(s) in %.1f ms", len(batch), (time.perf_counter() - started) * 1000)

    @staticmethod
    def publish(session: Session, batch: list[events.DomainEvent]) -> None:
        from admin.events import ping
        from display import publisher as boards
        from ticket import state as phones

        from . import queue_state
        from .domain import retell

        state = queue_state.current()  # read once for this change; the request's answer takes it too
        if retell.check(session, state.snapshot):  # their phones get the notice with this very publish
            session.commit()
        boards.publish(batch, state)
        phones.publish(session, batch, state.snapshot, state.version)
        ping(session.scalars(select(Staff.id).where(Staff.active)).all(), state.version)


realtime = Realtime()
