"""The JSON API for booking systems, call buttons and consultants' devices (README: API)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import people, routes  # noqa: E402,F401
