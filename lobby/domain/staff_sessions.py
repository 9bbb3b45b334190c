"""Staff sessions kept on the server: a login cookie is good only while its session is open here.

Flask's session cookie is signed, not stored: without this, a cookie copied before
"log out" would still open the desk afterwards. Each login opens a row; the cookie
carries a random token whose hash names it. Logging out, idling too long,
disabling the account or changing its password ends rows, and an ended row's
cookie opens nothing (HTTP or Socket.IO).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..models import Staff, StaffSession
from . import clock, events
from .audit import Actor, audit

LOGOUT, IDLE, DISABLED, PASSWORD = "logout", "idle", "disabled", "password"
KEEP_ENDED = dt.timedelta(days=30)  # ended sessions stay this long, for the audit of who was logged in


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, staff: Staff, *, actor: Actor, now: dt.datetime | None = None) -> str:
    """A new session for a login (audited); returns the token the cookie keeps (never stored as such)."""
    now = now or clock.utcnow()
    session.execute(delete(StaffSession).where(StaffSession.ended_at < now - KEEP_ENDED))
    token = secrets.token_urlsafe(32)
    row = StaffSession(token_hash=_hash(token), staff_id=staff.id, created_at=now)
    session.add(row)
    session.flush()
    staff.session_token, staff.session_id = token, row.id
    audit(session, actor, "login", None, staff=staff.username)
    return token


def staff_for(session: Session, token: str | None) -> tuple[Staff, StaffSession] | None:
    """The staff member an open session's token belongs to, or None (ended, unknown, disabled)."""
    if not token or not isinstance(token, str) or len(token) > 100:
        return None
    row = session.scalars(select(StaffSession).where(StaffSession.token_hash == _hash(token),
                                                     StaffSession.ended_at.is_(None))).first()
    if row is None or not row.staff.active:
        return None
    return row.staff, row


def end_session(session: Session, token: str | None, reason: str, *, actor: Actor,
                now: dt.datetime | None = None) -> None:
    """End the session of this token (logout, idle); its sockets are told and dropped after commit."""
    found = staff_for(session, token)
    if found is None:
        return
    staff, row = found
    row.ended_at, row.ended_reason = now or clock.utcnow(), reason
    audit(session, actor, "logout", None, staff=staff.username, reason=reason)
    events.record(session, "staff.sessions_ended", staff=row.staff_id, staff_session=row.id)


def end_all(session: Session, staff: Staff, reason: str, *, actor: Actor, now: dt.datetime | None = None) -> int:
    """End every open session of a person (account disabled, password changed); returns how many."""
    result = session.execute(update(StaffSession)
                             .where(StaffSession.staff_id == staff.id, StaffSession.ended_at.is_(None))
                             .values(ended_at=now or clock.utcnow(), ended_reason=reason))
    events.record(session, "staff.sessions_ended", staff=staff.id, staff_session=None)
    audit(session, actor, "logout", None, staff=staff.username, reason=reason, sessions=result.rowcount or 0)
    return result.rowcount or 0
