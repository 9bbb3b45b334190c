"""The clinic's own lobby tablets.

A booking's QR code or link checks its visitor in only on a tablet of the clinic: opened on a phone
at home it says when the appointment is and to scan it at the lobby tablet on arrival (a ticket
taken from home would put someone in the queue who is not there). An administrator makes a browser
one of the clinic's tablets from the settings page; it then carries a signed cookie naming the
clinic's current kiosk generation, and raising the generation signs every tablet out.
"""

from __future__ import annotations

import secrets

from flask import Response, request

from lobby.domain.settings import get_settings
from lobby.extensions import db
from lobby.tokens import (
    KIOSK_MAX_AGE,
    TokenError,
    kiosk_device_token,
    read_kiosk_device_token,
)

COOKIE = "lobby_kiosk"


def at_a_kiosk() -> bool:
    """Whether this request comes from one of the clinic's lobby tablets."""
    token = request.cookies.get(COOKIE)
    if not token:
        return False
    try:
        carried = read_kiosk_device_token(token)
    except TokenError:
        return False
    return isinstance(carried, dict) and carried.get("g") == get_settings(db.session).kiosk_generation


def new_device_cookie() -> str:
    """The cookie value for a tablet registered now."""
    return kiosk_device_token(get_settings(db.session).kiosk_generation, secrets.token_urlsafe(8))


def register(response: Response) -> Response:
    response.set_cookie(COOKIE, new_device_cookie(), max_age=KIOSK_MAX_AGE, httponly=True, samesite="Lax",
                        secure=request.is_secure)
    return response
