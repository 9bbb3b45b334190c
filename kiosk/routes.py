"""Kiosk views: thin, over lobby.domain."""

import io

import qrcode
from flask import abort, render_template, send_file, url_for

from lobby.domain.appointments import get_appointment
from lobby.domain.errors import NotFound
from lobby.domain.settings import get_settings
from lobby.extensions import db
from lobby.tokens import TokenError, read_appointment_token

from . import bp


@bp.after_request
def _no_store(response):
    # A shared tablet: the back button must never show the previous visitor.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/", endpoint="start")
def start():
    return render_template("kiosk/start.html", settings=get_settings(db.session))


@bp.get("/a/<token>", endpoint="appointment")
def appointment(token: str):
    """Where an appointment's QR code leads."""
    try:
        booking = get_appointment(db.session, read_appointment_token(token))
    except (TokenError, NotFound):
        return render_template("kiosk/invalid_code.html"), 404
    return render_template("kiosk/appointment.html", booking=booking, settings=get_settings(db.session))


@bp.get("/a/<token>/qr.png", endpoint="appointment_qr")
def appointment_qr(token: str):
    """The QR code image of an appointment's check-in link (for confirmations and print)."""
    try:
        read_appointment_token(token)
    except TokenError:
        abort(404)
    return png_qr(url_for("kiosk.appointment", token=token, _external=True))


def png_qr(data: str):
    image = qrcode.make(data, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    return send_file(buffer, mimetype="image/png", max_age=0)
