"""The client record: changed only by staff, on purpose, and audited. Check-ins never edit it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Client, Role
from .audit import Actor, audit
from .errors import NotFound
from .registration import VisitorDetails
from .settings import get_settings
from .text import clean_text

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


# --- care: who looks after the client (客户归属, 主刀医生) ------------------------------------------

CARE_FIELDS = ("consultant", "surgeon", "surgery_date", "partner")


def update_care(session: Session, client: Client, changes: dict, *, reason: str | None, actor: Actor,
                require_reason: bool = True) -> list[str]:
    """Change who looks after a client — own consultant, operating surgeon, surgery date, partner
    store — with a reason; returns the fields that changed. Values arrive checked (a consultant is a
    consultant, a surgeon a doctor). The trail keeps who from and who to, never the surgery date."""
    reason = clean_text(reason, field="reason", limit=200, required=require_reason,
                        required_code="reason_required", too_long_code="reason_too_long")
    changed = [name for name in CARE_FIELDS if name in changes and getattr(client, name) != changes[name]]
    if not changed:
        return []
    detail = {}
    for name in changed:
        previous = getattr(client, name)
        setattr(client, name, changes[name])
        if name in ("consultant", "surgeon"):
            detail[name] = [previous.username if previous else None,
                            changes[name].username if changes[name] else None]
    audit(session, actor, "client_care", None, client=client.public_id, fields=changed, reason=reason, **detail)
    session.flush()
    return changed


def note_consultation(session: Session, visit, *, actor: Actor) -> None:
    """A consultation is over: its consultant becomes the client's own (客户归属) when the client has
    none yet, or always when the clinic keeps the latest (ClinicSettings.ownership_rule)."""
    client, consultant = visit.client, visit.consultant
    if client is None or consultant is None or consultant.role != Role.CONSULTANT or visit.line.post_op:
        return
    if client.consultant_id == consultant.id:
        return
    if client.consultant_id is None or get_settings(session).ownership_rule == "latest":
        update_care(session, client, {"consultant": consultant}, reason="consultation", actor=actor,
                    require_reason=False)
