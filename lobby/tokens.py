"""Signed, expiring tokens for QR codes: an appointment check-in and a visitor's ticket page.

A token carries an opaque id and is signed with SECRET_KEY, so it cannot be
forged or altered; it names no sequence number and no personal data.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

APPOINTMENT_SALT = "lobby.appointment-checkin"
TICKET_SALT = "lobby.ticket"
VISITOR_SALT = "lobby.kiosk-visitor"
KIOSK_SALT = "lobby.kiosk-device"
KIOSK_MAX_AGE = 60 * 60 * 24 * 365 * 5  # a lobby tablet stays one until the clinic signs it out
APPOINTMENT_MAX_AGE = 60 * 60 * 24 * 120  # bookings are made at most months ahead
TICKET_MAX_AGE = 60 * 60 * 24  # a ticket is good for its day
VISITOR_MAX_AGE = 30 * 60  # who a returning visitor said they are, at the kiosk: good for one check-in


class TokenError(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _load(salt: str, token: str, max_age: int) -> dict:
    try:
        return _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenError("token_expired") from None
    except BadSignature:
        raise TokenError("token_invalid") from None


def appointment_token(public_id: str) -> str:
    return _serializer(APPOINTMENT_SALT).dumps({"a": public_id})


def read_appointment_token(token: str) -> str:
    return _load(APPOINTMENT_SALT, token, APPOINTMENT_MAX_AGE)["a"]


def ticket_token(public_id: str) -> str:
    return _serializer(TICKET_SALT).dumps({"v": public_id})


def read_ticket_token(token: str) -> str:
    return _load(TICKET_SALT, token, TICKET_MAX_AGE)["v"]


def visitor_token(typed: dict, verified_client: str | None) -> str:
    """Carries who a returning visitor typed they are, and whether the second factor proved it,
    through the kiosk's steps: tamper-proof, so the proof is made once and cannot be forged."""
    return _serializer(VISITOR_SALT).dumps({"t": typed, "c": verified_client})


def read_visitor_token(token: str) -> tuple[dict, str | None]:
    data = _load(VISITOR_SALT, token, VISITOR_MAX_AGE)
    return data["t"], data["c"]


def kiosk_device_token(generation: int, device: str) -> str:
    """What a lobby tablet of the clinic carries (kiosk/devices.py)."""
    return _serializer(KIOSK_SALT).dumps({"g": generation, "d": device})


def read_kiosk_device_token(token: str) -> dict:
    return _load(KIOSK_SALT, token, KIOSK_MAX_AGE)
