"""Staff access: every admin route and fragment names the roles it allows, checked on the server."""

from __future__ import annotations

import time
from functools import wraps

from flask import abort, redirect, request, session, url_for
from flask_login import current_user, logout_user

from lobby.database import write_transaction as unit_of_work
from lobby.domain import audit, lookups, staff_sessions
from lobby.domain.settings import get_settings
from lobby.extensions import db
from lobby.models import Role

DESK = (Role.ADMIN, Role.FRONTDESK)
CARE = lookups.CARE
EVERYONE = DESK + CARE

# Every view registered here declares its roles; tests list them all.
ROUTE_ROLES: dict[str, tuple[Role, ...]] = {}


def roles_required(*roles: Role):
    def decorate(view):
        ROUTE_ROLES[view.__name__] = roles

        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                if request.headers.get("HX-Request"):
                    # htmx follows this header with a full-page navigation to the login.
                    return "", 401, {"HX-Redirect": url_for("admin.login")}
                return redirect(url_for("admin.login", next=request.path))
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles
        return wrapped

    return decorate


def staff_actor(staff=None) -> audit.Actor:
    """The logged-in staff member (or `staff`), as the audit trail names them."""
    staff = staff or current_user
    return audit.Actor(f"staff:{staff.username}", staff.id)


def session_is_idle() -> bool:
    """Whether this staff session went unused longer than the clinic allows (HTTP or Socket.IO)."""
    seen = session.get("seen_at")
    return seen is None or time.time() - seen > get_settings(db.session).staff_idle_minutes * 60


def expire_idle_session() -> None:
    """Log out a staff session left unused longer than the clinic allows, on the server too."""
    if not current_user.is_authenticated:
        return
    if session_is_idle():
        with unit_of_work(db.session):
            staff_sessions.end_session(db.session, current_user.session_token, staff_sessions.IDLE,
                                       actor=staff_actor(current_user))
        logout_user()
        session.clear()
        return
    session["seen_at"] = time.time()
