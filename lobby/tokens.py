"""Signed, expiring tokens for QR codes: an appointment check-in and a visitor's ticket page.

A token carries an opaque id and is signed with SECRET_KEY, so it cannot be
forged or altered; it names no sequence number and no personal data.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

APPOINTMENT_SALT = "lobby.appointment-checkin"
TICKET_SALT = "lobby.ticket"
CLIENT_SALT = "lobby.kiosk-client"
APPOINTMENT_MAX_AGE = 60 * 60 * 24 * 120  # bookings are made at most months ahead
TICKET_MAX_AGE = 60 * 60 * 24  # a ticket is good for its day
CLIENT_MAX_AGE = 30 * 60  # a returning visitor found at the kiosk: good for one check-in


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


def client_token(public_id: str) -> str:
    """Carries a returning visitor found by phone through the kiosk's steps, tamper-proof."""
    return _serializer(CLIENT_SALT).dumps({"c": public_id})


def read_client_token(token: str) -> str:
    return _load(CLIENT_SALT, token, CLIENT_MAX_AGE)["c"]
