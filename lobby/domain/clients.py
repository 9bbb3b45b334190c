"""The client record: changed only by staff, on purpose, and audited. Check-ins never edit it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Client
from .audit import Actor, audit
from .errors import NotFound
from .registration import VisitorDetails

EDITABLE = ("name", "phone", "gender", "birth_year", "channel", "partner_id")


def get_client(session: Session, public_id: str) -> Client:
    client = session.scalars(select(Client).where(Client.public_id == public_id)).first()
    if client is None or client.erased_at is not None:
        raise NotFound("not_found")
    return client


def update_client(session: Session, client: Client, details: VisitorDetails, *, actor: Actor) -> list[str]:
    """Save what a colleague typed on the client's record; returns the fields that changed.

    The audit trail names the fields, never their old or new values (they are personal data).
    """
    changed = [name for name in EDITABLE if getattr(client, name) != getattr(details, name)]
    for name in changed:
        setattr(client, name, getattr(details, name))
    if changed:
        audit(session, actor, "client_edited", None, client=client.public_id, fields=changed)
        session.flush()
    return changed
