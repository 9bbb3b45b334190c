"""Realtime: domain events, once committed, reach every screen over Socket.IO.

Each screen owns its namespace and what it is sent: the boards (display/), a
visitor's phone (ticket/), the staff panels (admin/). This module only wires
them to the domain: after each commit it announces the calls it made to the
boards at once, then takes the queue's state once (lobby/queue_state.py) and
hands it to each of them.

Every payload carries `version` (the queue's version, raised by each change); a
screen keeps the newest it has seen, so a late message from another process
cannot roll it back. On every (re)connect a screen gets the whole current state.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref

from flask import Flask, current_app, has_app_context, has_request_context, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from .database import RECEIVED
from .domain import events
from .extensions import db, socketio
from .models import Staff

log = logging.getLogger(__name__)
SESSIONS_ENDED = "staff.sessions_ended"


class Realtime:
    """Publishes committed domain events to the boards, the phones and the staff panels.

    Coalesced: the changes of a burst go out together, at most one publish every
    PUBLISH_INTERVAL_MS (100 ms) per process, with the latest state — never a backlog of
    stale renders. Calls are announced at once, each of them, before any of that. An interval of 0 (tests)
    publishes each commit at once, in the committing request.
    """

    def init_app(self, app: Flask) -> None:
        app.extensions["lobby_realtime"] = self
        self.app = app
        self.interval = 0.0 if app.testing else app.config["PUBLISH_INTERVAL_MS"] / 1000
        self._pending: list[events.DomainEvent] = []
        self._publishing = False
        self._lock = threading.Lock()
        self._wake = None
        self._pid = None
        self.publishes = 0  # how many publishes this process made (tests count them)
        events.subscribe(self.on_commit)

    def on_commit(self, batch: list[events.DomainEvent]) -> None:
        if not has_app_context() or "lobby_realtime" not in current_app.extensions:
            return
        from admin.events import end_staff_sockets

        for evt in batch:
            if evt.name == SESSIONS_ENDED:  # at once: a logged-out panel must not hear one more change
                end_staff_sockets(evt.data["staff"], evt.data.get("staff_session"))
        batch = [evt for evt in batch if evt.name != SESSIONS_ENDED]
        if not batch:
            return
        self._announce(batch)
        self._enqueue(batch)

    def republish(self) -> None:
        """Every board, phone and panel gets the current state again, whether it changed or not:
        the message queue came back, and the other processes' screens missed this one's changes."""
        from ticket import state as phones

        with self.app.app_context():  # (called from the message queue's listener, outside any request)
            phones.forget()
            self._enqueue([events.DomainEvent(events.REPUBLISHED)])

    def _enqueue(self, batch: list[events.DomainEvent]) -> None:
        """To the coalescing publisher; at once, in this thread, with an interval of 0 (tests)."""
        if self.interval <= 0:
            self._publish_now(batch)
            return
        with self._lock:
            self._pending.extend(batch)
        self._ensure_running()
        self._wake.set()

    @staticmethod
    def _announce(batch: list[events.DomainEvent]) -> None:
        """Calls go to the boards at once, not coalesced: what a call says needs no read of the queue."""
        from display import publisher as boards

        if any(boards.is_call(evt) for evt in batch):
            with Session(db.engine) as session:
                boards.announce(session, batch)
            arrived = request.environ.get(RECEIVED) if has_request_context() else None
            if arrived is not None:  # (bench/call_latency.py reads it: the server's share of call → screen)
                log.debug("announced a call %.1f ms after its request arrived", (time.monotonic() - arrived) * 1000)

    def _publish_now(self, batch: list[events.DomainEvent]) -> None:
        started = time.perf_counter()
        # A session of its own: the committing one belongs to the caller.
        # (Objects stay loaded across the re-telling's commit: the phones read them right after.)
        with Session(db.engine, expire_on_commit=False) as session:
            self.publish(session, batch)
        self.publishes += 1
        log.debug("published %d event(s) in %.1f ms", len(batch), (time.perf_counter() - started) * 1000)

    def _ensure_running(self) -> None:
        # One publisher per process (a server that forks its workers starts one in each).
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            wake = socketio.server.eio.create_event() if socketio.server else threading.Event()
            if socketio.server:
                socketio.start_background_task(self._run, wake)
            else:
                threading.Thread(target=self._run, args=(wake,), daemon=True).start()
            self._wake, self._pid = wake, os.getpid()

    def _run(self, wake) -> None:
        last = 0.0
        while True:
            wake.wait()
            wake.clear()
            # At most one publish per interval: what commits meanwhile joins this one.
            delay = last + self.interval - time.monotonic()
            if delay > 0:
                socketio.sleep(delay)
            with self._lock:
                batch, self._pending = self._pending, []
                self._publishing = bool(batch)
            if not batch:
                continue
            last = time.monotonic()
            try:
                with self.app.app_context():
                    self._publish_now(batch)
            except Exception:  # a broken screen must never stop the next publish
                log.exception("publish failed for %s", [evt.name for evt in batch])
            finally:
                self._publishing = False

    def idle(self) -> bool:
        """Nothing waiting to be published, nor being published now."""
        with self._lock:
            return not self._pending and not self._publishing

    @staticmethod
    def publish(session: Session, batch: list[events.DomainEvent]) -> None:
        from admin.events import ping
        from display import publisher as boards
        from ticket import state as phones

        from . import queue_state
        from .domain import retell

        state = queue_state.current()  # read once for this change; the request's answer takes it too
        snapshot = state.snapshot
        retold = retell.check(session, snapshot, _told_checked.get(db.engine))
        if retold:  # their phones get the notice with this very publish
            session.commit()
        _told_checked[db.engine] = snapshot.estimates
        boards.publish(batch, state)
        phones.publish(session, batch, snapshot, state.version, retold)
        ping(session.scalars(select(Staff.id).where(Staff.active)).all(), state.version)


# Per database engine: the estimates the last publish checked for re-telling (retell.check).
_told_checked: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
realtime = Realtime()
