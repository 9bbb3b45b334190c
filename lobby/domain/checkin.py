"""Check-in: the one way a visitor gets a ticket, whatever the surface (kiosk, desk, API).

- `check_in_visitor`: someone who typed who they are (walk-in, returning, post-op,
  complaint, browsing): the client these details prove, or a new one (never an edit of a client
  on file, see identity.py), then the ticket;
- `check_in_appointment`: a booking, found by its code or its signed QR code;
- `add_companion`: someone with a visitor, linked to their ticket, not queued;
- `check_in_once`: any of these once per idempotency key, whatever the number of taps;
- `check_in`: the core they share: triage, the ticket number, the event.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..database import write_transaction as unit_of_work
from ..models import (
    Appointment,
    AppointmentStatus,
    Client,
    Line,
    Service,
    Staff,
    Visit,
    VisitKind,
)
from . import clock, partners, triage
from .appointments import check_arrival
from .audit import Actor, audit
from .duty import DutyBoard
from .errors import Conflict, ValidationError
from .identity import Identification, client_for, identify, mark_visit
from .lookups import find_by_idempotency_key
from .registration import VisitorDetails
from .retell import remember_told
from .settings import clinic_day
from .text import clean_name, clean_text
from .tickets import move_to_line, next_number, ticket_label
from .visits import ACTIVE, S, _event
from .waits import estimate_for_visit


def _new_record(identification: Identification | None) -> bool:
    """The client record was made by this very check-in: no visit before it to look for."""
    return identification is not None and identification.client is None


def _has_visited_before(session: Session, client: Client) -> bool:
    return session.scalar(select(exists().where(Visit.client_id == client.id))) or False


# --- the core -----------------------------------------------------------------------------


def check_in(
    session: Session,
    *,
    kind: VisitKind,
    client: Client | None = None,
    service: Service | None = None,
    line: Line | None = None,
    appointment: Appointment | None = None,
    requested: Staff | None = None,
    surgeon: Staff | None = None,
    idempotency_key: str | None = None,
    identification: Identification | None = None,
    actor: Actor,
    now: dt.datetime | None = None,
) -> Visit:
    """Queue a visitor: triage, take the next ticket number of the line, record the event.

    A repeated idempotency key returns the visit it made the first time. `identification`
    (domain/identity.py) puts what the desk must check about who this is on the visit.
    """
    if kind == VisitKind.COMPANION:
        raise ValidationError("companion_needs_visit", field="kind")
    now = now or clock.utcnow()
    if idempotency_key:
        # check_in_once looked before its transaction began; a twin may have committed since
        # (inside the write transaction, this look is final).
        existing = find_by_idempotency_key(session, idempotency_key)
        if existing is not None:
            return existing
    day = clinic_day(session, now)
    board = DutyBoard(session, now, day)  # who is there: read once for triage and the estimate
    designated = None
    if appointment is not None:
        # Whether the booking may be checked in now is check_in_appointment's question;
        # the unique visits.appointment_id is the backstop against a second visit.
        client = appointment.client
        service = appointment.service
        designated = appointment.staff
    # A post-op visit (换药, 拆线) is never a first visit, whoever booked it.
    first_visit = kind in (VisitKind.APPOINTMENT, VisitKind.WALK_IN) and not triage.is_post_op(
        kind, service, line) and (client is None or _new_record(identification)
                                  or not _has_visited_before(session, client))
    registration = partners.at_check_in(session, client, kind, day)  # 报备, before triage
    result = triage.triage(
        session,
        kind=kind,
        day=day,
        line=line,
        service=service,
        client=client,
        designated=designated,
        requested=requested,
        surgeon=surgeon,
        board=board,
    )
    number = next_number(session, result.line, day)
    visit = Visit(
        idempotency_key=idempotency_key or None,
        clinic_day=day,
        line=result.line,
        number=number,
        ticket=ticket_label(result.line, number),
        kind=kind,
        status=S.WAITING,
        client=client,
        appointment=appointment,
        service=service,
        consultant=result.consultant,
        triage_rule=result.rule,
        first_visit=first_visit,
        checked_in_at=now,
        updated_at=now,
    )
    if identification is not None:
        mark_visit(visit, identification)
    session.add(visit)
    if appointment is not None:
        appointment.status = AppointmentStatus.CHECKED_IN
    session.flush()  # the estimate reads the queue, this visit included
    if registration is not None:
        registration.visit = visit  # the desk verifies the store (核定)
    remember_told(visit, estimate_for_visit(session, visit, now, board), now)  # None: nobody can say
    audit(session, actor, "check_in", visit, ticket=visit.ticket, rule=result.rule)
    _event(session, "visit.checked_in", visit)
    return visit


# Set by lobby/queue_state.py: brings the kept queue up to date before a check-in's write
# transaction, so that nothing inside it waits for a second connection or simulates the whole day.
prepare_queue = None


def check_in_once(session: Session, idempotency_key: str | None, make_visit) -> Visit:
    """Run `make_visit()` in its own unit of work, once per idempotency key.

    A repeated key returns the first visit before anything else is checked (a re-sent
    appointment check-in must not be refused as "already checked in"); a racing twin
    that commits first is caught by the unique key.
    """
    if idempotency_key:
        existing = find_by_idempotency_key(session, idempotency_key)
        if existing is not None:
            return existing
    if prepare_queue is not None:
        prepare_queue()
    try:
        with unit_of_work(session):
            return make_visit()
    except IntegrityError:
        # A twin committed first: the same idempotency key, or the same appointment.
        if idempotency_key:
            existing = find_by_idempotency_key(session, idempotency_key)
            if existing is not None:
                return existing
        raise Conflict("checkin_conflict") from None


# --- the ways in -------------------------------------------------------------------------

# The kinds a visitor (or a colleague for them) registers as; appointments and companions have their own way.
REGISTRATION_KINDS = {kind.value: kind for kind in (VisitKind.WALK_IN, VisitKind.RETURNING, VisitKind.POST_OP,
                                                     VisitKind.COMPLAINT, VisitKind.BROWSING)}


def registration_kind(value: object, allowed: tuple[VisitKind, ...] | None = None) -> VisitKind:
    """The VisitKind a form or API names (walk-in, returning...), or ValidationError('kind_invalid')."""
    kind = REGISTRATION_KINDS.get(value) if isinstance(value, str) else None
    if kind is None or (allowed is not None and kind not in allowed):
        raise ValidationError("kind_invalid", field="kind")
    return kind


class AlreadyHere(Conflict):
    """The client already holds a ticket today that is still in play: show it, don't make another."""

    def __init__(self, visit: Visit):
        super().__init__("already_checked_in", ticket=visit.ticket)
        self.visit = visit


def active_visit_today(session: Session, client: Client, day: dt.date) -> Visit | None:
    """The client's visit of `day` still waiting or in consultation (not a companion's), if any."""
    return session.scalars(
        select(Visit).where(Visit.client_id == client.id, Visit.clinic_day == day, Visit.status.in_(ACTIVE),
                            Visit.kind != VisitKind.COMPANION).order_by(Visit.id)
    ).first()


def check_in_visitor(session: Session, details: VisitorDetails, *, kind: VisitKind, actor: Actor,
                     public_tablet: bool, idempotency_key: str | None = None,
                     allow_verification: bool = True, one_per_day: bool = True,
                     second_visit_reason: str | None = None) -> Visit:
    """Check in someone who typed who they are (not an appointment): find the client these details
    prove, or record a new one, and queue the visit with what the desk must check.

    `public_tablet`: the kiosk, where a client on file needs the second factor (identity.py).
    The client on file is never changed by a check-in: what differs waits on the visit for the desk.
    A proven client who already holds a ticket today gets AlreadyHere (with that visit), not a
    second ticket at the back of the queue; only the desk may make a second one, with a reason.
    (`one_per_day` False: the API's callers keep their contract, where a retry is told apart by its
    Idempotency-Key.)
    """
    found = identify(session, details, second_factor=public_tablet,
                     returning=kind in (VisitKind.RETURNING, VisitKind.POST_OP),
                     allow_verification=allow_verification)
    if one_per_day and found.client is not None:
        existing = active_visit_today(session, found.client, clinic_day(session))
        if existing is not None:
            reason = None if public_tablet else clean_text(second_visit_reason, field="second_visit_reason", limit=200)
            if not reason:
                raise AlreadyHere(existing)
            audit(session, actor, "second_visit", existing, ticket=existing.ticket, reason=reason)
    service = session.get(Service, details.service_id) if details.service_id else None
    requested = session.get(Staff, details.requested_id) if details.requested_id else None
    # Who operated is staff's or an integration's word, never the public tablet's.
    surgeon = session.get(Staff, details.surgeon_id) if details.surgeon_id and not public_tablet else None
    # A new record made by staff or an integration may say who operated, and when.
    client = client_for(session, found, **({} if public_tablet else
                                           {"surgeon": surgeon, "surgery_date": details.surgery_date}))
    return check_in(session, kind=kind, client=client, service=service, requested=requested, surgeon=surgeon,
                    idempotency_key=idempotency_key, identification=found, actor=actor)


def check_in_appointment(session: Session, appointment: Appointment, *, actor: Actor,
                         idempotency_key: str | None = None, now: dt.datetime | None = None,
                         at_desk: bool = False) -> Visit:
    """A booked visitor arrives: refused if cancelled, already here, another day or (at the kiosk)
    too early."""
    check_arrival(session, appointment, now, at_desk=at_desk)
    return check_in(session, kind=VisitKind.APPOINTMENT, appointment=appointment,
                    idempotency_key=idempotency_key, actor=actor, now=now)


def add_companion(session: Session, visit: Visit, *, name: str | None = None, actor: Actor,
                  now: dt.datetime | None = None) -> Visit:
    """A companion (陪同): linked to the visitor, not queued, no ticket of their own."""
    if visit.kind == VisitKind.COMPANION:
        raise ValidationError("companion_of_companion", field="ticket")
    if visit.status not in ACTIVE:
        raise Conflict("visit_not_active")
    now = now or clock.utcnow()
    companion = Visit(
        clinic_day=visit.clinic_day,
        line=visit.line,
        kind=VisitKind.COMPANION,
        status=S.WAITING,
        companion_of=visit,
        consultant=visit.consultant,
        note=clean_name(name) if name else None,
        checked_in_at=now,
        updated_at=now,
    )
    session.add(companion)
    session.flush()
    audit(session, actor, "companion", visit)
    _event(session, "visit.companion_added", visit)
    return companion


def become_walk_in(session: Session, visit: Visit, *, service: Service | None = None, actor: Actor,
                   now: dt.datetime | None = None) -> Visit:
    """A browsing visitor (纯参观) who wants a consultation after all: triaged as a walk-in now."""
    if visit.kind != VisitKind.BROWSING or visit.status != S.WAITING:
        raise Conflict("not_browsing", status=visit.status.value)
    now = now or clock.utcnow()
    board = DutyBoard(session, now, visit.clinic_day)
    result = triage.triage(session, kind=VisitKind.WALK_IN, day=visit.clinic_day, service=service,
                           client=visit.client, board=board)
    if result.line.id != visit.line_id:
        move_to_line(session, visit, result.line)
    visit.kind, visit.service = VisitKind.WALK_IN, service
    visit.consultant, visit.triage_rule = result.consultant, result.rule
    visit.first_visit = visit.client is None or not session.scalar(select(exists().where(
        Visit.client_id == visit.client_id, Visit.id != visit.id)))
    visit.updated_at = now
    session.flush()
    remember_told(visit, estimate_for_visit(session, visit, now, board), now)
    audit(session, actor, "became_walk_in", visit, ticket=visit.ticket, rule=result.rule)
    _event(session, "visit.checked_in", visit)
    return visit
