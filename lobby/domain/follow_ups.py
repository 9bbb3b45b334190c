"""After the consultation: how it ended (成交 / 未成交 / 考虑) and when to talk again, and who is due
a call on a given day — only clients who agreed to be contacted (seed 000 §1.4, §2.5)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Client, HealthQuestionnaire, Visit
from .audit import Actor, audit
from .errors import ValidationError

# How a consultation ended (seed 004: conversions per consultant and channel).
OUTCOMES = ("deal", "no_deal", "thinking")


def check(visit: Visit, *, finishing: bool, outcome: object, next_contact: dt.date | None) -> None:
    """Refuse an outcome anywhere but at the finish, an unknown one, or a next contact before the visit."""
    if outcome is None and next_contact is None:
        return
    if not finishing:
        raise ValidationError("outcome_at_finish", field="outcome")
    if outcome is not None and outcome not in OUTCOMES:
        raise ValidationError("outcome_invalid", field="outcome", outcome=str(outcome))
    if next_contact is not None and next_contact < visit.clinic_day:
        raise ValidationError("next_contact_past", field="next_contact")


def record(session: Session, visit: Visit, *, outcome: str | None, next_contact: dt.date | None,
           actor: Actor) -> None:
    """Keep what check() let through on the visit (audited)."""
    if outcome is None and next_contact is None:
        return
    visit.outcome, visit.next_contact = outcome, next_contact
    audit(session, actor, "outcome", visit, outcome=outcome,
          next_contact=next_contact.isoformat() if next_contact else None)


def due_for_contact(session: Session, day: dt.date) -> list[Visit]:
    """Visits whose next contact falls on `day`, of clients who agreed (at that visit's
    questionnaire) to be contacted, and whose data was not erased."""
    return list(session.scalars(
        select(Visit).join(Client, Visit.client_id == Client.id)
        .join(HealthQuestionnaire, HealthQuestionnaire.visit_id == Visit.id)
        .where(Visit.next_contact == day, HealthQuestionnaire.consent_contact.is_(True),
               Client.erased_at.is_(None))
        .order_by(Visit.clinic_day, Visit.id)
    ))
