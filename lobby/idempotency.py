"""Every write done once, whatever the number of times it is sent.

A write request may carry an idempotency key: the `Idempotency-Key` header (static/js/once.js adds
one to each write the kiosk and the desk send, and keeps it until an answer arrives) or an
`idempotency_key` form field. The key is saved in the transaction of the change itself
(`claim`, called by database.write_transaction), so it is on record exactly when the change is.
A retry — a double tap, an answer lost on flaky Wi-Fi, a form sent again, an integration's
retry after a timeout — then gets the first answer again instead of, say, calling a second
visitor. The first answer is stored just after it is made (`remember`); a retry that arrives
before that, or after a crash in between, is told the request was already received (409).

Keys are per owner (the staff member, the API key, or the public screens): one never answers
another. The same key for another method, path or content is refused (422). The check-ins keep keys of their
own on the visit (OWN_KEYS); logging in and out take none.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass

from flask import Flask, g, has_request_context, jsonify, request
from flask_login import current_user
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from .extensions import db
from .messages import message_for
from .models import RequestKey

HEADER = "Idempotency-Key"
FIELD = "idempotency_key"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Endpoints whose key is the visit's own (Visit.idempotency_key, lobby/domain/checkin.py).
OWN_KEYS = {"api.check_in", "kiosk.finish", "admin.register_visitor"}
# Answers that set a cookie (a staff session, a lobby tablet's mark): a repeat could not hand it out again.
UNKEYED = OWN_KEYS | {"admin.login", "admin.logout", "admin.register_kiosk"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
VALID_KEY = re.compile(r"[A-Za-z0-9_\-.:+/=]{8,80}")  # base64 and UUIDs too
# The headers of an answer that a repeat must carry too (htmx acts on its HX-* headers).
KEPT_HEADERS = ("Content-Type", "Location", "Warning", "HX-Trigger", "HX-Trigger-After-Swap",
                "HX-Trigger-After-Settle", "HX-Redirect", "HX-Refresh", "HX-Retarget", "HX-Reswap",
                "HX-Reselect", "HX-Push-Url", "HX-Replace-Url", "HX-Location")
LARGEST_KEPT_ANSWER = 512 * 1024  # bytes; a larger first answer is not kept (a repeat gets 409)
_ARMED, _CLAIMED = "lobby_request_key", "lobby_request_key_claimed"
log = logging.getLogger("lobby.idempotency")


class BadKey(Exception):
    """The key sent is not one (too short, too long, odd characters)."""


class Replay(Exception):
    """This key's request was done already: answer with what it answered (see `replay`)."""

    def __init__(self, done: RequestKey):
        super().__init__(done.key)
        self.done = done


@dataclass(frozen=True)
class Armed:
    key: str
    request_line: str
    fingerprint: str  # of what was sent: the same key with other content is another request


def arm() -> None:
    """Note the key of the request about to be dispatched to its view (none for reads, none for the
    endpoints with keys of their own). Only the view's writes claim it: not a before-request hook's."""
    if request.method in SAFE_METHODS or request.endpoint is None or request.endpoint in UNKEYED:
        return
    key = request.headers.get(HEADER) or (request.form.get(FIELD) if request.mimetype in FORM_TYPES else None)
    if not key:
        return
    if not VALID_KEY.fullmatch(key.strip()):
        raise BadKey()
    setattr(g, _ARMED, Armed(key.strip(), f"{request.method} {request.path}"[:400], fingerprint()))


def fingerprint() -> str:
    """What the request asks, whatever its CSRF token: a form's fields and files' names, else its body."""
    if request.mimetype in FORM_TYPES:
        fields = sorted((k, v) for k, v in request.form.items(multi=True) if k not in ("csrf_token", FIELD))
        files = sorted((k, f.filename or "") for k, f in request.files.items(multi=True))
        sent = json.dumps([fields, files], ensure_ascii=False).encode()
    else:
        sent = request.get_data(cache=True)
    return hashlib.sha256(sent).hexdigest()


def owner() -> str:
    """Who is asking: the API key's name, the staff member logged in, or the public screens."""
    actor = g.get("actor")
    if actor is not None:
        return actor.label[:80]
    if current_user and current_user.is_authenticated:
        return f"staff:{current_user.id}"
    return "public"


def claim(session: Session) -> None:
    """In a write transaction just begun: the first time in a request that carries a key, save the
    key with the change to come, or raise Replay if a request with this key was done already."""
    if not has_request_context():
        return
    armed: Armed | None = g.get(_ARMED)
    if armed is None or g.get(_CLAIMED):
        return
    who = owner()
    done = session.scalar(select(RequestKey).where(RequestKey.owner == who, RequestKey.key == armed.key))
    if done is not None:
        raise Replay(done)
    record = RequestKey(key=armed.key, owner=who, request_line=armed.request_line, fingerprint=armed.fingerprint)
    session.add(record)
    try:
        # A twin still on its way (another process) holds the key: this waits for its commit.
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Replay(session.scalar(select(RequestKey).where(RequestKey.owner == who,
                                                             RequestKey.key == armed.key))) from None
    setattr(g, _CLAIMED, record.id)


def unclaim() -> None:
    """The transaction that held the key rolled back: the key is free again for this request."""
    if has_request_context():
        g.pop(_CLAIMED, None)


def remember(response: Response) -> Response:
    """After the view: keep the answer of a write whose key was saved, for its repeats."""
    claimed = g.pop(_CLAIMED, None)
    g.pop(_ARMED, None)  # the keeping below must not claim the key again
    if claimed is None or response.status_code >= 500 or response.direct_passthrough or response.is_streamed:
        return response
    body = response.get_data()
    if len(body) > LARGEST_KEPT_ANSWER:
        return response
    headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
    from .database import write_transaction

    try:  # a short transaction of the request's own session, after the change's
        with write_transaction(db.session) as session:
            session.execute(update(RequestKey).where(RequestKey.id == claimed).values(
                status=response.status_code, headers=headers, body=body))
    except Exception:  # the change is made: its answer goes out, its repeats are told 409
        log.warning("the answer of %s was not kept for its repeats", request.path, exc_info=True)
    return response


def replay(done: RequestKey | None) -> Response:
    """The first answer again, or why there is none to give."""
    if done is None:  # the twin that held the key rolled back after all: send it again
        return _refusal("request_in_progress", 409)
    armed: Armed | None = g.get(_ARMED)
    if armed is None or done.request_line != armed.request_line or done.fingerprint != armed.fingerprint:
        return _refusal("idempotency_key_reused", 422)
    if done.status is None or done.body is None:  # not kept (too large), or blanked by an erasure
        return _refusal("request_in_progress", 409)
    response = Response(done.body or b"", status=done.status, headers=done.headers or {})
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _refusal(code: str, status: int) -> Response:
    """The API's error shape for integrations; words in the person's language for the screens."""
    if request.blueprint == "api":
        response = jsonify({"error": {"code": code, "message": message_for(code)}})
        response.status_code = status
    else:
        response = Response(message_for(code), status=status, content_type="text/plain; charset=utf-8")
        if request.headers.get("HX-Request"):
            # Nothing swapped in: static/js/once.js shows the words in the screen's notice.
            response.headers["HX-Reswap"] = "none"
            response.headers["HX-Trigger"] = json.dumps({"lobby:notice": message_for(code)})
    if status == 409:
        response.headers["Retry-After"] = "1"
    return response


def init_app(app: Flask) -> None:
    """Answer repeats and keep first answers. Call after the extensions that post-process answers
    (compression) are set up: after-request hooks run last-registered first, so this sees the body
    as the view made it."""
    app.after_request(remember)
    app.register_error_handler(Replay, lambda err: replay(err.done))
    app.register_error_handler(BadKey, lambda err: _refusal("bad_idempotency_key", 400))
