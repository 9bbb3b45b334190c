"""The admin surface (blueprint)."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import (  # noqa: E402,F401
    appointments,
    clients,
    complaints,
    events,
    follow_ups,
    partners,
    register,
    reports,
    roster,
    routes,
    settings,
    webhooks,
)
