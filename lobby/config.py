"""Configuration read from the environment (the variables the README's Configuration table lists)."""

import os
import re
import secrets
from pathlib import Path


class ConfigError(RuntimeError):
    """The environment asks for something unsafe or incomplete."""


def _secret_key(instance_path: Path, env: str) -> str:
    """SECRET_KEY from the environment; in development, one generated and kept in instance/."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if env == "production":
        raise ConfigError("SECRET_KEY must be set when LOBBY_ENV=production")
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise ConfigError(f"{name} must be a whole number of milliseconds, not {raw!r}")
    return int(raw)


def load_config(instance_path: str) -> dict:
    """Build the Flask config mapping from environment variables."""
    instance = Path(instance_path)
    env = os.environ.get("LOBBY_ENV", "development")
    if env not in ("development", "production"):
        raise ConfigError(f"LOBBY_ENV must be development or production, not {env!r}")
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'lobby.db'}"
    production = env == "production"
    origins = [o.strip() for o in os.environ.get("LOBBY_CORS_ORIGINS", "").split(",") if o.strip()]
    if "*" in origins:
        raise ConfigError("LOBBY_CORS_ORIGINS may not contain '*'; list the allowed origins")
    framers = os.environ.get("LOBBY_BOARD_FRAME_ANCESTORS", "").replace(",", " ").split()
    for origin in framers:
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", origin):
            raise ConfigError(f"LOBBY_BOARD_FRAME_ANCESTORS takes origins such as https://signage.example, not {origin!r}")
    public_url = os.environ.get("LOBBY_PUBLIC_URL", "").strip().rstrip("/")
    if public_url and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?", public_url):
        raise ConfigError(f"LOBBY_PUBLIC_URL takes an address such as https://lobby.clinic.example, not {public_url!r}")
    return {
        "LOBBY_ENV": env,
        # Behind a reverse proxy: how many proxies' X-Forwarded-* headers to trust (0: none).
        "PROXY_HOPS": _int_env("LOBBY_PROXY_HOPS", 0),
        # The address visitors' phones reach, for the links and QR codes Lobby hands out (tickets,
        # appointments); unset: the address the request came to.
        "PUBLIC_URL": public_url or None,
        "SECRET_KEY": _secret_key(instance, env),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "LOBBY_TIMEZONE": os.environ.get("LOBBY_TIMEZONE", "Asia/Shanghai"),
        "LOBBY_CORS_ORIGINS": origins,
        # Origins whose pages may frame the queue board (digital signage); every other page refuses frames.
        "BOARD_FRAME_ANCESTORS": framers,
        # serve.py runs gevent; tests and the flask CLI use threads.
        "SOCKETIO_ASYNC_MODE": os.environ.get("LOBBY_ASYNC_MODE", "threading"),
        "SOCKETIO_CHANNEL": os.environ.get("LOBBY_SOCKETIO_CHANNEL", "lobby"),
        # Screens get the latest state at most this often under a burst of changes (lobby/realtime.py).
        "PUBLISH_INTERVAL_MS": _int_env("LOBBY_PUBLISH_INTERVAL_MS", 100),
        # A write still unsaved this long after its request arrived is dropped (its client has given
        # up; it retries with the same Idempotency-Key): an overloaded server stops working for nobody.
        "REQUEST_TIME_LIMIT_MS": _int_env("LOBBY_REQUEST_TIME_LIMIT_MS", 10_000),
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "JSON_AS_ASCII": False,
        # The kiosk and the desk stay open all day: a form's token lives as long as its session.
        "WTF_CSRF_TIME_LIMIT": None,
        # Nothing a person sends is larger than a CSV import (2 MB); the kiosk's camera frames are
        # held to 1 MB by their own route.
        "MAX_CONTENT_LENGTH": 3 * 1024 * 1024,
        # Kiosk look-up throttles (kiosk/throttle.py), in Flask-Limiter's notation.
        "KIOSK_LOOKUPS_PER_TABLET": os.environ.get("LOBBY_KIOSK_LOOKUPS_PER_TABLET", "40 per minute;600 per hour"),
        "KIOSK_LOOKUPS_PER_PHONE": os.environ.get("LOBBY_KIOSK_LOOKUPS_PER_PHONE", "20 per hour"),
        "KIOSK_FAILED_PROOFS_PER_PHONE": os.environ.get("LOBBY_KIOSK_FAILED_PROOFS_PER_PHONE", "5 per day"),
    }
