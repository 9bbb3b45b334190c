"""报备: partner stores announce their clients before they come (name, phone, store), and the desk
verifies (核定) at check-in whether the store is an A-class one — its clients see the store's own
consultant — or not, when they go by rotation (seed 004, 市场部 §1 and §6).

A registration is open until the client checks in (then it is linked to that visit) or for
REGISTRATION_DAYS. The store that registered a client first is hers (`Client.partner`): a later
registration by another store is kept, and the desk is told the client is already another's.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..models import Client, PartnerRegistration, PartnerStore, Visit, VisitKind
from . import clock, identity
from .audit import Actor, audit
from .errors import Conflict, ValidationError
from .phone import normalise_phone
from .settings import clinic_day, clinic_zone
from .text import clean_name, clean_text, same_name

# How long a registration waits for its client (a month, as stores' registrations do).
REGISTRATION_DAYS = 30


def register(session: Session, *, partner: PartnerStore | None, name: object, phone: object,
             expected_day: dt.date | None = None, note: object = None, registered_by: str, actor: Actor,
             now: dt.datetime | None = None) -> tuple[PartnerRegistration, bool]:
    """Register a client ahead for `partner`. The same store registering the same client again while
    the first is open updates it (returns it, False): stores resend their lists."""
    if partner is None:
        raise ValidationError("partner_required", field="partner")
    name = clean_name(name)
    phone = normalise_phone(phone if isinstance(phone, str) else None)
    note = clean_text(note, field="note", limit=200)
    now = now or clock.utcnow()
    today = clinic_day(session, now)
    if expected_day is not None and expected_day < today:
        raise ValidationError("expected_day_past", field="expected_day")
    client = identity.client_for(session, identity.identify(
        session, identity.TypedIdentity(name=name, phone=phone), second_factor=False))
    session.flush()
    existing = open_registration(session, client, today)
    if existing is not None and existing.partner_id == partner.id:
        existing.expected_day, existing.note = expected_day or existing.expected_day, note or existing.note
        return existing, False
    if client.partner_id is None:
        client.partner = partner
    registration = PartnerRegistration(partner=partner, client=client, registered_at=now,
                                       registered_by=registered_by[:80], expected_day=expected_day, note=note)
    session.add(registration)
    session.flush()
    audit(session, actor, "partner_registered", None, partner=partner.name, registration=registration.public_id)
    return registration, True


def _since(session: Session, day: dt.date) -> dt.datetime:
    return clock.day_bounds(day - dt.timedelta(days=REGISTRATION_DAYS), clinic_zone(session))[0]


def open_registration(session: Session, client: Client | None, day: dt.date) -> PartnerRegistration | None:
    """The client's latest registration not yet linked to a visit, within REGISTRATION_DAYS — also
    one made under her name and phone on another file (at the tablet a client is not recognised
    without her year of birth, which stores do not send: the desk merges the two files later)."""
    if client is None or (client.id is None and not client.phone):
        return None
    candidates = session.scalars(select(PartnerRegistration).join(Client, Client.id == PartnerRegistration.client_id)
                                 .where(PartnerRegistration.visit_id.is_(None),
                                        PartnerRegistration.registered_at >= _since(session, day),
                                        (Client.id == (client.id or -1)) | ((Client.phone == client.phone)
                                                                           & Client.phone.is_not(None)))
                                 .order_by(PartnerRegistration.registered_at.desc(), PartnerRegistration.id.desc()))
    return next((r for r in candidates if r.client_id == client.id or same_name(r.client.name, client.name)), None)


def at_check_in(session: Session, client: Client | None, kind: VisitKind, day: dt.date) -> PartnerRegistration | None:
    """The registration a check-in answers, before triage: it says whose client she is (the store
    that registered her first), so an A-class store's client goes to its consultant."""
    if kind not in (VisitKind.APPOINTMENT, VisitKind.WALK_IN, VisitKind.RETURNING):
        return None
    registration = open_registration(session, client, day)
    if registration is not None and client.partner_id is None:
        client.partner = registration.partner
    return registration


def for_visits(session: Session, visit_ids: list[int]) -> dict[int, PartnerRegistration]:
    """The registrations of these visits (one query for the desk's list)."""
    if not visit_ids:
        return {}
    rows = session.scalars(select(PartnerRegistration).where(PartnerRegistration.visit_id.in_(visit_ids))
                           .options(selectinload(PartnerRegistration.partner)
                                    .selectinload(PartnerStore.consultant)))
    return {row.visit_id: row for row in rows}


def verify(session: Session, registration: PartnerRegistration, *, actor: Actor,
           now: dt.datetime | None = None) -> Visit:
    """核定 in one click: the desk confirms the store and its class, so the visitor's routing (the
    A-class store's consultant, else rotation — decided by triage at check-in) stands on a checked
    record. Audited; a second click changes nothing."""
    visit = registration.visit
    if visit is None:
        raise Conflict("registration_not_arrived")
    if registration.verified_at is None:
        registration.verified_at, registration.verified_by_id = now or clock.utcnow(), actor.staff_id
        partner = registration.partner
        audit(session, actor, "partner_verified", visit, partner=partner.name, a_class=partner.a_class,
              consultant=visit.consultant.username if visit.consultant else None)
        session.flush()
    return visit


def registrations_from(session: Session, day: dt.date) -> list[PartnerRegistration]:
    """What the desk's registration page lists: open registrations, and those that arrived on `day`."""
    since = _since(session, day)
    arrived_today = select(Visit.id).where(Visit.clinic_day == day)
    return list(session.scalars(select(PartnerRegistration).where(
        ((PartnerRegistration.visit_id.is_(None)) & (PartnerRegistration.registered_at >= since))
        | PartnerRegistration.visit_id.in_(arrived_today))
        .options(selectinload(PartnerRegistration.partner), selectinload(PartnerRegistration.client),
                 selectinload(PartnerRegistration.visit))
        .order_by(PartnerRegistration.expected_day.is_(None), PartnerRegistration.expected_day,
                  PartnerRegistration.registered_at)))
