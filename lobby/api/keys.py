"""API keys: shown once, stored as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ApiKey

PREFIX = "lby_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, name: str) -> tuple[ApiKey, str]:
    """A new key; the plain key is returned once and never stored."""
    plain = PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(name=name, key_hash=_hash(plain), prefix=plain[:8])
    session.add(record)
    session.flush()
    return record, plain


def key_for(session: Session, plain: str) -> ApiKey | None:
    if not plain or not plain.startswith(PREFIX):
        return None
    return session.scalars(
        select(ApiKey).where(ApiKey.key_hash == _hash(plain), ApiKey.revoked_at.is_(None))
    ).first()
