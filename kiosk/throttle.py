"""Look-up throttles on the public tablet (Flask-Limiter; Redis storage when REDIS_URL is set).

Three limits, all configurable (see lobby/config.py):

- per tablet (its address): every look-up or check-in step, so nobody can type
  a thousand numbers in a minute;
- per mobile number: the same, for one number from any tablet (booking-code
  guessing);
- failed identity proofs per mobile number: once reached, the kiosk stops
  recognising that number's client for a day — check-ins still work, the
  desk confirms who the visitor is. Nothing on the screen changes, so the limit
  tells a guesser nothing either.

Counters are keyed by an HMAC of the number, never the number itself, and the
log names the limit, never the number.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from flask import current_app, request
from flask_limiter.util import get_remote_address
from limits import parse

from lobby.domain.errors import ValidationError
from lobby.domain.phone import normalise_phone
from lobby.extensions import limiter

log = logging.getLogger("lobby.security")


def phone_key(raw: str | None = None) -> str | None:
    """An opaque key for the mobile number in the form (or `raw`), or None when there is none."""
    try:
        phone = normalise_phone(raw if raw is not None else request.form.get("phone"))
    except ValidationError:
        return None
    secret = current_app.config["SECRET_KEY"].encode()
    return "phone:" + hmac.new(secret, phone.encode(), hashlib.sha256).hexdigest()[:32]


def _log_breach(scope: str):
    def on_breach(_limit):
        log.warning("kiosk look-ups throttled: limit=%s endpoint=%s", scope, request.endpoint)
        return None  # the kiosk's 429 handler answers

    return on_breach


per_tablet = limiter.shared_limit(
    lambda: current_app.config["KIOSK_LOOKUPS_PER_TABLET"], scope="kiosk-tablet",
    key_func=get_remote_address, on_breach=_log_breach("tablet"))

per_phone = limiter.shared_limit(
    lambda: current_app.config["KIOSK_LOOKUPS_PER_PHONE"], scope="kiosk-phone",
    key_func=lambda: phone_key() or "", exempt_when=lambda: phone_key() is None,
    on_breach=_log_breach("phone"))


def _failed_proofs():
    return parse(current_app.config["KIOSK_FAILED_PROOFS_PER_PHONE"])


def may_prove_identity(phone: str) -> bool:
    """False once this number has failed its second factor too often today."""
    try:
        return limiter.limiter.test(_failed_proofs(), "kiosk-proof", phone_key(phone))
    except Exception:  # the counters' store (Redis) is down: check-ins go on, the second factor still holds
        log.warning("kiosk proof counters unreachable; not counting for now", exc_info=True)
        return True


def failed_proof(phone: str) -> None:
    """Count a look-up of this number that proved nobody on file."""
    try:
        limiter.limiter.hit(_failed_proofs(), "kiosk-proof", phone_key(phone))
    except Exception:
        log.warning("kiosk proof counters unreachable; a failed proof was not counted", exc_info=True)
        return
    if not may_prove_identity(phone):
        log.warning("kiosk identity proofs locked for a mobile number: limit=proof")
