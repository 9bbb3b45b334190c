"""A visitor's own phone: their ticket page (/t/<token>), live over the /ticket namespace (blueprint)."""

from flask import Blueprint

bp = Blueprint("ticket", __name__)

from . import events, routes  # noqa: E402,F401
