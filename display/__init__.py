"""The display surface (blueprint)."""

from flask import Blueprint

bp = Blueprint("display", __name__, url_prefix="/display")

from . import events, routes  # noqa: E402,F401
