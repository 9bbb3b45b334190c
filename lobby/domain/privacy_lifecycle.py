"""The lifecycle of personal data (PIPL): a scheduled purge after the retention period, and
erasure on request. Names, phone numbers, free text and health answers go; the anonymous
figures (visits, kinds, lines, times, consultants, channels) stay."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from ..models import (
    Appointment,
    AuditEntry,
    Client,
    Complaint,
    FollowUpContact,
    HealthQuestionnaire,
    PartnerRegistration,
    Reassignment,
    RequestKey,
    Visit,
    WebhookDelivery,
)
from . import clock
from .audit import Actor, audit
from .errors import Conflict
from .settings import clinic_day, clinic_zone, get_settings
from .visits import ACTIVE
from .webhooks import PERSONAL_KEYS

ERASED_REASON = "—"
DELIVERY_LOG_KEPT = dt.timedelta(days=30)


@dataclass(frozen=True)
class PurgeReport:
    cutoff: dt.date
    questionnaires: int
    clients: int


def _forget_visits(session: Session, visit_ids) -> int:
    """Health answers and free text of these visits; returns how many questionnaires went."""
    removed = session.execute(delete(HealthQuestionnaire).where(HealthQuestionnaire.visit_id.in_(visit_ids)))
    session.execute(update(Visit).where(Visit.id.in_(visit_ids)).values(note=None, identity_typed=None))
    session.execute(update(Reassignment).where(Reassignment.visit_id.in_(visit_ids)).values(reason=ERASED_REASON))
    # A reassignment's audit entry repeats its reason, which staff type freely.
    session.execute(update(AuditEntry).where(AuditEntry.visit_id.in_(visit_ids), AuditEntry.action == "reassign")
                    .values(detail={}))
    return removed.rowcount or 0


def _forget_client(session: Session, client: Client, now: dt.datetime) -> None:
    client.name = None
    client.phone = None
    client.erased_at = now
    session.execute(update(Appointment).where(Appointment.client_id == client.id).values(note=None))
    session.execute(update(PartnerRegistration).where(PartnerRegistration.client_id == client.id).values(note=None))
    # A complaint's record stays (its figures, who handled it); her account of it goes.
    session.execute(update(Complaint).where(Complaint.client_id == client.id)
                    .values(what_happened=ERASED_REASON, calming_note=None, resolution=None))
    session.execute(update(FollowUpContact).where(
        FollowUpContact.visit_id.in_(select(Visit.id).where(Visit.client_id == client.id))
        | FollowUpContact.appointment_id.in_(select(Appointment.id).where(Appointment.client_id == client.id)))
        .values(note=None))


def _forget_in_outbox(session: Session, client_ids: set[str]) -> None:
    """Webhook deliveries not sent yet carry the name and phone (where the endpoint may have them):
    those of forgotten clients go out without. (A delivery sent keeps none: the sender drops them.)"""
    if not client_ids:
        return
    for delivery in session.scalars(select(WebhookDelivery).where(WebhookDelivery.delivered_at.is_(None))):
        data = delivery.payload.get("data", {})
        if data.get("client") in client_ids and any(key in data for key in PERSONAL_KEYS):
            kept = {key: value for key, value in data.items() if key not in PERSONAL_KEYS}
            delivery.payload = {**delivery.payload, "data": kept}


def purge(session: Session, *, now: dt.datetime | None = None, actor: Actor) -> PurgeReport:
    """Forget what is older than the clinic's retention period. Visits still in the building are
    never touched, nor is a client with one, or with an appointment still to come."""
    now = now or clock.utcnow()
    cutoff = clinic_day(session, now) - dt.timedelta(days=get_settings(session).retention_days)
    old_visits = select(Visit.id).where(Visit.clinic_day < cutoff, Visit.status.not_in(ACTIVE))
    questionnaires = _forget_visits(session, old_visits)
    recent_visit = exists().where(Visit.client_id == Client.id,
                                  (Visit.clinic_day >= cutoff) | Visit.status.in_(ACTIVE))
    cutoff_start = clock.day_bounds(cutoff, clinic_zone(session))[0]
    recent_booking = exists().where(Appointment.client_id == Client.id, Appointment.starts_at >= cutoff_start)
    stale = session.scalars(select(Client).where(Client.erased_at.is_(None), ~recent_visit, ~recent_booking)).all()
    for client in stale:
        _forget_client(session, client, now)
    _forget_in_outbox(session, {client.public_id for client in stale})
    # The delivery log keeps a month of what was sent; the outbox does not grow for ever.
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.delivered_at < now - DELIVERY_LOG_KEPT))
    audit(session, actor, "purge", None, cutoff=cutoff.isoformat(), clients=len(stale),
          questionnaires=questionnaires)
    session.flush()
    return PurgeReport(cutoff, questionnaires, len(stale))


def erase_client(session: Session, client: Client, *, actor: Actor, now: dt.datetime | None = None) -> None:
    """A client's request to be forgotten: name, phone, answers and notes go; figures stay."""
    if session.scalar(select(exists().where(Visit.client_id == client.id, Visit.status.in_(ACTIVE)))):
        raise Conflict("client_in_the_building")
    visit_ids = select(Visit.id).where(Visit.client_id == client.id)
    _forget_visits(session, visit_ids)
    _forget_client(session, client, now or clock.utcnow())
    _forget_in_outbox(session, {client.public_id})
    # The kept first answers of today's writes (lobby/idempotency.py) may show them: all go (their
    # repeats are told the request was received, 409, instead).
    session.execute(update(RequestKey).where(RequestKey.body.is_not(None)).values(body=None, headers=None,
                                                                                     status=None))
    # The audit trail names the client's opaque id only, never what was erased.
    audit(session, actor, "erase", None, client=client.public_id)
    session.flush()
