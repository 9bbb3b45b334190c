"""The admin surface (blueprint)."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import appointments, clients, events, register, reports, roster, routes, settings  # noqa: E402,F401
