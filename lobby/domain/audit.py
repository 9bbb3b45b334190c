"""Who did what: the actor of every change, and the audit trail it leaves.

Every function of the domain that changes data takes `actor` as a required keyword:
a caller that forgets it fails at once instead of crediting someone else.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..models import AuditEntry, Visit


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff member, an API key or the kiosk (for the audit trail)."""

    label: str
    staff_id: int | None = None


KIOSK = Actor("kiosk")  # the lobby tablet: visitors check themselves in
PURGE = Actor("purge")  # the nightly purge of personal data past its retention


def audit(session: Session, actor: Actor, action: str, visit: Visit | None = None, **detail) -> None:
    session.add(
        AuditEntry(
            actor_id=actor.staff_id,
            actor_label=actor.label,
            action=action,
            visit_id=visit.id if visit is not None else None,
            client_id=visit.client_id if visit is not None else None,
            detail=detail,
        )
    )
