"""The webhook sender: POSTs what the outbox holds (domain/outbox.py), signed, right after the commit
that queued it, and retries with back-off.

Every server process runs one as a background task of its Socket.IO async mode (a greenlet under
serve.py's gevent, a daemon thread otherwise), started by the app factory: not in `flask` commands
(but `flask run` starts it at its first request) nor in tests, unless WEBHOOKS_SEND says so. A commit
that queued a delivery wakes it at once; otherwise it looks every POLL_SECONDS for retries come due
and for deliveries another process queued. Any number of processes may send: each delivery is
claimed by one (domain/outbox.py). `flask --app wsgi send-webhooks [--once]` runs one in the foreground.

Each request is a POST of the JSON body with these headers:

    Content-Type: application/json
    X-Lobby-Event: visit.finished
    X-Lobby-Delivery: <the delivery's id: the same on every retry; receivers drop repeats by it>
    X-Lobby-Timestamp: <Unix time in seconds when sent>
    X-Lobby-Signature: sha256=<hex HMAC-SHA256, keyed with the endpoint's secret, of the bytes
                       "<timestamp>.<body>">

A 2xx answer within TIMEOUT_SECONDS is delivered; anything else (another status, a redirect, a
timeout, a refused connection) is retried.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import os
import threading
import urllib.error
import urllib.request
from collections import Counter

import click
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .database import write_transaction
from .domain import clock, events, outbox
from .domain.webhooks import QUEUED
from .extensions import db, socketio

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5
POLL_SECONDS = 5
USER_AGENT = "Lobby-Webhooks/1"


def body_of(sent: outbox.Outgoing) -> bytes:
    """The JSON body: the delivery's id, the event, when it happened, and its data."""
    return json.dumps({"delivery": sent.delivery_id, **sent.payload}, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Lobby-Signature value for a body sent at `timestamp`."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # Followed, a redirect would turn the POST into a GET without its body: a 3xx is a failure.
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def post(url: str, body: bytes, headers: dict, timeout: float) -> tuple[int | None, str | None]:
    """POST once: (HTTP status or None, what went wrong or None)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(64 * 1024)
            return response.status, None
    except urllib.error.HTTPError as err:
        err.close()
        return err.code, f"HTTP {err.code} {err.reason}"
    except urllib.error.URLError as err:
        return None, str(err.reason) or type(err.reason).__name__
    except (OSError, http.client.HTTPException, ValueError) as err:  # a timeout is an OSError
        return None, str(err) or type(err).__name__
    except Exception as err:  # whatever a receiver does, the attempt is counted and backs off
        log.exception("webhook POST to %s", url.split("?")[0])
        return None, type(err).__name__


def send_due(engine: Engine, *, now: dt.datetime | None = None, timeout: float = TIMEOUT_SECONDS,
             limit: int = 500) -> Counter:
    """Send the deliveries due (at `now`, else the clock's now), one claimed at a time; no database
    transaction stays open during a POST. An endpoint that did not answer at all (refused, timed out)
    is left alone for the rest of the round: its other deliveries wait for the next round rather
    than each spending a timeout. Returns how many ended delivered / retrying / failed."""
    counts: Counter = Counter()
    unanswered: set[int] = set()
    with Session(engine, expire_on_commit=False) as session:
        for _ in range(limit):
            moment = now or clock.utcnow()
            candidates = outbox.due_ids(session, moment, skip_endpoints=frozenset(unanswered))
            session.rollback()  # end the read before taking the write lock
            if not candidates:
                break
            with write_transaction(session):
                sent = outbox.claim_next(session, moment, candidates)
            if sent is None:
                continue  # another sender took them: look again
            timestamp = str(int(moment.timestamp()))
            body = body_of(sent)
            status, error = post(sent.url, body, {
                "Content-Type": "application/json", "User-Agent": USER_AGENT,
                "X-Lobby-Event": sent.event, "X-Lobby-Delivery": sent.delivery_id,
                "X-Lobby-Timestamp": timestamp, "X-Lobby-Signature": sign(sent.secret, timestamp, body),
            }, timeout)
            with write_transaction(session):
                counts[outbox.record_attempt(session, sent, now or clock.utcnow(), status, error)] += 1
            if status is None:
                unanswered.add(sent.endpoint_id)
            if error:
                log.info("webhook %s to %s: %s", sent.delivery_id, sent.url.split("?")[0], error)
    return counts


class Sender:
    """One process's sender loop: a round of send_due, then wait for a wake-up or the next poll."""

    def __init__(self, app: Flask, *, poll: float = POLL_SECONDS, timeout: float = TIMEOUT_SECONDS):
        self.app, self.poll, self.timeout = app, poll, timeout
        self._stopping = False
        self._task = None
        self._wake = threading.Event()

    def start(self) -> Sender:
        # The event and the task of the async mode: gevent's under serve.py, threads otherwise.
        self._wake = socketio.server.eio.create_event() if socketio.server else threading.Event()
        _running.add(self)
        if socketio.server:
            self._task = socketio.start_background_task(self.run)
        else:
            self._task = threading.Thread(target=self.run, daemon=True)
            self._task.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10) -> None:
        self._stopping = True
        _running.discard(self)
        self._wake.set()
        if self._task is not None:
            self._task.join(timeout)

    def run(self) -> None:
        failing = False
        while not self._stopping:
            self._wake.clear()  # before the round: a commit during it makes the wait return at once
            try:
                with self.app.app_context():
                    send_due(db.engine, timeout=self.timeout)
                failing = False
            except Exception:  # the database is unwell: say so once, and try again at the next poll
                log.warning("webhooks not sent this round", exc_info=not failing)
                failing = True
            self._wake.wait(self.poll)


_running: set[Sender] = set()


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop(QUEUED, False) and not session.info.get(events.PRIVATE):
        for sender in list(_running):
            sender.wake()


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(QUEUED, None)


def init_app(app: Flask) -> None:
    """Start this process's sender (WEBHOOKS_SEND: on, except in tests); register the command."""
    register_cli(app)
    app.config.setdefault("WEBHOOKS_SEND", not app.testing)
    if not app.config["WEBHOOKS_SEND"]:
        return
    started = {"pid": None}

    def ensure_started() -> None:
        # Per process: a server that forks its workers after the factory ran starts one in each.
        if started["pid"] != os.getpid():
            started["pid"] = os.getpid()
            app.extensions["lobby_webhooks"] = Sender(app).start()

    if click.get_current_context(silent=True) is None:  # a server process, not a `flask` command
        ensure_started()
    app.before_request(ensure_started)


def register_cli(app: Flask) -> None:
    @app.cli.command("send-webhooks")
    @click.option("--once", is_flag=True, help="Send what is due now, then exit.")
    def send_webhooks_command(once: bool):
        """Send the webhooks that are due, retrying with back-off (every server process also does)."""
        if once:
            counts = send_due(db.engine)
            click.echo(f"{counts[outbox.DELIVERED]} delivered, {counts[outbox.RETRYING]} to be retried, "
                       f"{counts[outbox.FAILED]} failed")
            return
        click.echo(f"sending webhooks; looking for due ones every {POLL_SECONDS} s (Ctrl-C stops)")
        Sender(app).run()
