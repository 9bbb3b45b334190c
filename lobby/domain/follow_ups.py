"""After the consultation: how it ended (成交 / 未成交 / 考虑) and when to talk again, and who is due
a call on a given day — only clients who agreed to be contacted (seed 000 §1.4, §2.5) — plus the
call-back of bookings not kept (seed 002 §7.4).

The desk's follow-up list has three parts: thank-yous (visits finished in the last 24 hours),
next contacts due (on the day agreed, or missed in the week before and not yet made) and
call-backs of no-shows (bookings of today and yesterday past their late window with no
check-in). Each is marked done once (FollowUpContact, audited)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..models import (
    Appointment,
    AppointmentStatus,
    Client,
    FollowUpContact,
    HealthQuestionnaire,
    Service,
    Visit,
    VisitKind,
    VisitStatus,
)
from . import clock, webhooks
from .audit import Actor, audit
from .errors import Conflict, ValidationError
from .questionnaire import latest_contact_consents
from .settings import clinic_day, clinic_zone, get_settings
from .text import clean_text

# How a consultation ended (seed 004: conversions per consultant and channel).
OUTCOMES = ("deal", "no_deal", "thinking")
MAX_SERVICES = 20


def check(session: Session, visit: Visit, *, finishing: bool, outcome: object, next_contact: dt.date | None,
          services: object = None) -> list[str] | None:
    """Refuse an outcome anywhere but at the finish, an unknown one, a next contact before the visit,
    or treatments agreed without a deal. Returns the agreed treatments' codes, checked."""
    if outcome is None and next_contact is None and not services:
        return None
    if not finishing:
        raise ValidationError("outcome_at_finish", field="outcome")
    if outcome is not None and outcome not in OUTCOMES:
        raise ValidationError("outcome_invalid", field="outcome", outcome=str(outcome))
    if next_contact is not None and next_contact < visit.clinic_day:
        raise ValidationError("next_contact_past", field="next_contact")
    if not services:
        return None
    if outcome != "deal":
        raise ValidationError("services_need_deal", field="services")
    if not isinstance(services, list) or not all(isinstance(code, str) for code in services):
        raise ValidationError("field_type", field="services", name="services")
    services = list(dict.fromkeys(services))
    if len(services) > MAX_SERVICES:
        raise ValidationError("services_too_many", field="services", limit=MAX_SERVICES)
    known = set(session.scalars(select(Service.code).where(Service.code.in_(services))))
    for code in services:
        if code not in known:
            raise ValidationError("unknown_service", field="services", code=code)
    return list(dict.fromkeys(services))


def record(session: Session, visit: Visit, *, outcome: str | None, next_contact: dt.date | None,
           actor: Actor, services: list[str] | None = None) -> None:
    """Keep what check() let through on the visit (audited), and tell the clinic's systems."""
    if outcome is None and next_contact is None and not services:
        return
    visit.outcome, visit.next_contact = outcome, next_contact
    if services or outcome != "deal":  # a deal corrected without its treatments keeps them
        visit.services_agreed = services or None
    audit(session, actor, "outcome", visit, outcome=outcome,
          next_contact=next_contact.isoformat() if next_contact else None,
          **({"services": services} if services else {}))
    if outcome is not None:
        data, personal = webhooks.visit_data(visit)
        webhooks.emit(session, "visit.outcome", data, personal=webhooks.if_consented(session, visit.client, personal))


def set_outcome(session: Session, visit: Visit, *, outcome: object, next_contact: dt.date | None,
                services: object = None, actor: Actor) -> Visit:
    """The outcome told after the finish (the consultant forgot to tap it, or the client decided
    that evening): only on a finished visit."""
    if visit.status != VisitStatus.DONE or visit.kind in (VisitKind.COMPANION, VisitKind.COMPLAINT,
                                                          VisitKind.BROWSING):
        raise Conflict("outcome_not_finished", status=visit.status.value)
    if outcome is None:
        raise ValidationError("outcome_invalid", field="outcome", outcome="")
    agreed = check(session, visit, finishing=True, outcome=outcome, next_contact=next_contact, services=services)
    record(session, visit, outcome=outcome, next_contact=next_contact, actor=actor, services=agreed)
    session.flush()
    return visit


def due_for_contact(session: Session, day: dt.date) -> list[Visit]:
    """Visits whose next contact falls on `day`, of clients who agreed (at that visit's
    questionnaire, and not refused since) to be contacted, and whose data was not erased."""
    return _still_agreeing(session, list(session.scalars(
        select(Visit).join(Client, Visit.client_id == Client.id)
        .join(HealthQuestionnaire, HealthQuestionnaire.visit_id == Visit.id)
        .where(Visit.next_contact == day, HealthQuestionnaire.consent_contact.is_(True),
               Client.erased_at.is_(None))
        .order_by(Visit.clinic_day, Visit.id)
    )))


# --- the desk's follow-up list --------------------------------------------------------------

THANKS, NEXT_CONTACT, NO_SHOW = "thanks", "next_contact", "no_show"
PURPOSES = (THANKS, NEXT_CONTACT, NO_SHOW)
THANKS_WITHIN = dt.timedelta(hours=24)
# A next contact missed stays on the list this long (then it is the consultant's own business).
MISSED_CONTACT_DAYS = 7
SEEN_KINDS = (VisitKind.APPOINTMENT, VisitKind.WALK_IN, VisitKind.RETURNING, VisitKind.POST_OP)


@dataclass
class FollowUp:
    purpose: str
    client: Client
    due_day: dt.date
    visit: Visit | None = None
    appointment: Appointment | None = None
    done: FollowUpContact | None = None

    @property
    def key(self) -> str:
        return self.visit.public_id if self.visit is not None else self.appointment.public_id


def _consenting(query):
    return (query.join(Client, Visit.client_id == Client.id)
            .join(HealthQuestionnaire, HealthQuestionnaire.visit_id == Visit.id)
            .where(HealthQuestionnaire.consent_contact.is_(True), Client.erased_at.is_(None),
                   Visit.kind.in_(SEEN_KINDS))
            .options(selectinload(Visit.client), selectinload(Visit.consultant), selectinload(Visit.service)))


def _contacts(session: Session, purpose: str, ids: list[int], column) -> dict[tuple[int, dt.date], FollowUpContact]:
    if not ids:
        return {}
    rows = session.scalars(select(FollowUpContact).where(FollowUpContact.purpose == purpose, column.in_(ids))
                           .options(selectinload(FollowUpContact.actor)))
    key = "visit_id" if column is FollowUpContact.visit_id else "appointment_id"
    return {(getattr(row, key), row.due_day): row for row in rows}


def _still_agreeing(session: Session, visits: list[Visit]) -> list[Visit]:
    """Those whose client has not refused since (her latest questionnaire is her word)."""
    consents = latest_contact_consents(session, [v.client_id for v in visits])
    return [v for v in visits if consents.get(v.client_id, False)]


def thank_yous(session: Session, now: dt.datetime) -> list[FollowUp]:
    """Visits finished in the last 24 hours, of clients who agreed to be contacted."""
    tz = clinic_zone(session)
    found = _still_agreeing(session, session.scalars(_consenting(select(Visit)).where(
        Visit.status == VisitStatus.DONE, Visit.done_at > now - THANKS_WITHIN, Visit.done_at <= now)
        .order_by(Visit.done_at)).all())
    done = _contacts(session, THANKS, [v.id for v in found], FollowUpContact.visit_id)
    return [FollowUp(THANKS, v.client, v.done_at.astimezone(tz).date(), visit=v,
                     done=done.get((v.id, v.done_at.astimezone(tz).date()))) for v in found]


def next_contacts(session: Session, day: dt.date) -> list[FollowUp]:
    """Next contacts agreed for `day`, and those of the week before not made yet."""
    found = _still_agreeing(session, session.scalars(_consenting(select(Visit)).where(
        Visit.next_contact <= day, Visit.next_contact >= day - dt.timedelta(days=MISSED_CONTACT_DAYS))
        .order_by(Visit.next_contact, Visit.id)).all())
    done = _contacts(session, NEXT_CONTACT, [v.id for v in found], FollowUpContact.visit_id)
    listed = [FollowUp(NEXT_CONTACT, v.client, v.next_contact, visit=v, done=done.get((v.id, v.next_contact)))
              for v in found]
    # A missed one stays until made; made today, it stays ticked for the rest of the day.
    since, _ = clock.day_bounds(day, clinic_zone(session))
    return [f for f in listed if f.due_day == day or f.done is None or f.done.contacted_at >= since]


def no_show_call_backs(session: Session, now: dt.datetime) -> list[FollowUp]:
    """Bookings of today and yesterday whose late window has passed with nobody checked in."""
    tz = clinic_zone(session)
    today = clinic_day(session, now)
    late = dt.timedelta(minutes=get_settings(session).late_arrival_minutes)
    since = clock.day_bounds(today - dt.timedelta(days=1), tz)[0]
    checked_in = select(Visit.appointment_id).where(Visit.appointment_id.is_not(None))
    found = session.scalars(select(Appointment).join(Client, Appointment.client_id == Client.id).where(
        Appointment.starts_at >= since, Appointment.starts_at < now - late, Client.erased_at.is_(None),
        Appointment.status.in_((AppointmentStatus.BOOKED, AppointmentStatus.NO_SHOW)),
        Appointment.id.not_in(checked_in))
        .options(selectinload(Appointment.client), selectinload(Appointment.service),
                 selectinload(Appointment.staff))
        .order_by(Appointment.starts_at)).all()
    refused = latest_contact_consents(session, [a.client_id for a in found])
    found = [a for a in found if refused.get(a.client_id) is not False]  # about her booking, unless she said no
    done = _contacts(session, NO_SHOW, [a.id for a in found], FollowUpContact.appointment_id)
    return [FollowUp(NO_SHOW, a.client, a.starts_at.astimezone(tz).date(), appointment=a,
                     done=done.get((a.id, a.starts_at.astimezone(tz).date()))) for a in found]


def mark_contacted(session: Session, follow_up: FollowUp, *, note: str | None = None, actor: Actor,
                   now: dt.datetime | None = None) -> FollowUpContact:
    """Mark a follow-up made (once: a second mark returns the first)."""
    if follow_up.done is not None:
        return follow_up.done
    note = clean_text(note, field="note", limit=200) or None
    contact = FollowUpContact(
        purpose=follow_up.purpose, due_day=follow_up.due_day, note=note, actor_id=actor.staff_id,
        visit_id=follow_up.visit.id if follow_up.visit is not None else None,
        appointment_id=follow_up.appointment.id if follow_up.appointment is not None else None,
        contacted_at=now or clock.utcnow())
    session.add(contact)
    audit(session, actor, "contacted", follow_up.visit, purpose=follow_up.purpose, due=follow_up.due_day.isoformat(),
          **({"appointment": follow_up.appointment.code} if follow_up.appointment is not None else {}))
    session.flush()
    follow_up.done = contact
    return contact


def find(session: Session, purpose: str, key: str, now: dt.datetime) -> FollowUp | None:
    """The follow-up of that purpose for a visit or booking (by public id) on today's list."""
    listed = {THANKS: lambda: thank_yous(session, now),
              NEXT_CONTACT: lambda: next_contacts(session, clinic_day(session, now)),
              NO_SHOW: lambda: no_show_call_backs(session, now)}.get(purpose)
    if listed is None:
        return None
    return next((f for f in listed() if f.key == key), None)
