"""Check-in and the life of a visit: call, recall, consult, doctor, done, skip, leave, reassign."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..database import write_transaction as unit_of_work
from ..models import (
    Appointment,
    AppointmentStatus,
    AuditEntry,
    Client,
    DutyStatus,
    Line,
    Reassignment,
    Role,
    Service,
    Staff,
    Visit,
    VisitKind,
    VisitStatus,
)
from . import clock, events, triage
from .errors import Conflict, IllegalTransition, NotFound, ValidationError
from .settings import clinic_day
from .text import clean_name, clean_text
from .tickets import next_number, ticket_label

S = VisitStatus

# The visit state machine: from each status, the statuses it may move to.
TRANSITIONS: dict[VisitStatus, frozenset[VisitStatus]] = {
    S.WAITING: frozenset({S.CALLED, S.LEFT}),
    # CALLED -> CALLED is a recall.
    S.CALLED: frozenset({S.CALLED, S.WITH_CONSULTANT, S.NO_SHOW, S.LEFT}),
    S.WITH_CONSULTANT: frozenset({S.WITH_DOCTOR, S.DONE, S.LEFT}),
    S.WITH_DOCTOR: frozenset({S.WITH_CONSULTANT, S.DONE, S.LEFT}),
    # A skipped visitor who turns up again goes back into the queue.
    S.NO_SHOW: frozenset({S.WAITING, S.LEFT}),
    S.DONE: frozenset(),
    S.LEFT: frozenset(),
}

QUEUED = (S.WAITING, S.CALLED)
IN_CONSULTATION = (S.WITH_CONSULTANT, S.WITH_DOCTOR)
# Still in the building: waiting, called or with someone.
ACTIVE = QUEUED + IN_CONSULTATION

_TIMESTAMP = {
    S.CALLED: "called_at",
    S.WITH_CONSULTANT: "consultation_started_at",
    S.WITH_DOCTOR: "doctor_at",
    S.DONE: "done_at",
    S.NO_SHOW: "no_show_at",
    S.LEFT: "left_at",
}


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff member, an API key or the kiosk (for the audit trail)."""

    label: str
    staff_id: int | None = None


KIOSK = Actor("kiosk")


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


def _event(session: Session, name: str, visit: Visit, **extra) -> None:
    events.record(
        session,
        name,
        visit=visit.public_id,
        ticket=visit.ticket,
        line=visit.line.code,
        status=visit.status.value,
        day=visit.clinic_day.isoformat(),
        **extra,
    )


# --- look-ups -----------------------------------------------------------------


def get_visit(session: Session, public_id: str, *, lock: bool = False) -> Visit:
    """A visit by its public id; `lock` takes its row lock on PostgreSQL, so that two staff acting
    on one visitor at once are serialised (SQLite's write transactions already are)."""
    query = select(Visit).where(Visit.public_id == public_id)
    if lock:
        query = query.with_for_update(of=Visit)
    visit = session.scalars(query).first()
    if visit is None:
        raise NotFound("visit_not_found")
    return visit


def find_by_idempotency_key(session: Session, key: str) -> Visit | None:
    return session.scalars(select(Visit).where(Visit.idempotency_key == key)).first()


def queue_of_day(session: Session, day: dt.date) -> list[Visit]:
    """Waiting and called visitors, in order of arrival."""
    return list(
        session.scalars(
            select(Visit)
            .where(Visit.clinic_day == day, Visit.status.in_(QUEUED), Visit.kind != VisitKind.COMPANION)
            .order_by(Visit.checked_in_at, Visit.id)
        )
    )


def find_active_by_ticket(session: Session, ticket: str, day: dt.date) -> Visit | None:
    """Today's visitor still in the building with this ticket number (A007, a007), or None."""
    match = re.fullmatch(r"([A-Z]{1,3})(\d{1,4})", (ticket or "").strip().upper())
    if match is None:
        return None
    return session.scalars(
        select(Visit).join(Line).where(Line.prefix == match.group(1), Visit.number == int(match.group(2)),
                                       Visit.clinic_day == day, Visit.status.in_(ACTIVE))
    ).first()


def find_staff(session: Session, username: str | None, field: str = "consultant",
               roles: tuple[Role, ...] = (Role.CONSULTANT,)) -> Staff | None:
    """An active staff member of one of `roles` (a visitor is never given to the front desk)."""
    if not username:
        return None
    staff = session.scalars(select(Staff).where(Staff.username == username, Staff.active,
                                                Staff.role.in_(roles))).first()
    if staff is None:
        raise ValidationError("unknown_consultant", field=field, username=username)
    return staff


def find_service(session: Session, code: str | None, field: str = "service") -> Service | None:
    if not code:
        return None
    service = session.scalars(select(Service).where(Service.code == code, Service.active)).first()
    if service is None:
        raise ValidationError("unknown_service", field=field, code=code)
    return service


def find_line(session: Session, code: str | None, field: str = "line") -> Line | None:
    if not code:
        return None
    line = session.scalars(select(Line).where(Line.code == code, Line.active)).first()
    if line is None:
        raise ValidationError("unknown_line", field=field, code=code)
    return line


def _has_visited_before(session: Session, client: Client) -> bool:
    return session.scalar(select(exists().where(Visit.client_id == client.id))) or False


# --- check-in ---------------------------------------------------------------------


def check_in(
    session: Session,
    *,
    kind: VisitKind,
    client: Client | None = None,
    service: Service | None = None,
    line: Line | None = None,
    appointment: Appointment | None = None,
    requested: Staff | None = None,
    idempotency_key: str | None = None,
    identification=None,
    actor: Actor = KIOSK,
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
        existing = find_by_idempotency_key(session, idempotency_key)
        if existing is not None:
            return existing
    day = clinic_day(session, now)
    designated = None
    if appointment is not None:
        if appointment.status == AppointmentStatus.CANCELLED:
            raise Conflict("appointment_cancelled")
        if appointment.status == AppointmentStatus.CHECKED_IN:
            raise Conflict("appointment_already_checked_in")
        client = appointment.client
        service = appointment.service
        designated = appointment.staff
    first_visit = kind in (VisitKind.APPOINTMENT, VisitKind.WALK_IN) and (
        client is None or not _has_visited_before(session, client)
    )
    result = triage.triage(
        session,
        kind=kind,
        day=day,
        line=line,
        service=service,
        client=client,
        designated=designated,
        requested=requested,
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
        from .identity import mark_visit

        mark_visit(visit, identification)
    session.add(visit)
    if appointment is not None:
        appointment.status = AppointmentStatus.CHECKED_IN
    session.flush()
    from .waits import estimate_for_visit  # waits needs the visit flushed

    visit.predicted_wait_minutes = estimate_for_visit(session, visit, now).minutes
    audit(session, actor, "check_in", visit, ticket=visit.ticket, rule=result.rule)
    _event(session, "visit.checked_in", visit)
    return visit


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


def add_companion(session: Session, visit: Visit, *, name: str | None = None, actor: Actor = KIOSK,
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


# --- state changes ------------------------------------------------------------------


def _companions(session: Session, visit: Visit) -> list[Visit]:
    return list(session.scalars(select(Visit).where(Visit.companion_of_id == visit.id)))


def _consultant_busy_elsewhere(session: Session, consultant: Staff, visit: Visit) -> bool:
    return session.scalar(
        select(
            exists().where(
                Visit.consultant_id == consultant.id,
                Visit.id != visit.id,
                Visit.status.in_(IN_CONSULTATION),
            )
        )
    )


def transition(
    session: Session,
    visit: Visit,
    target: VisitStatus,
    *,
    actor: Actor = KIOSK,
    now: dt.datetime | None = None,
) -> Visit:
    """Move a visit along the state machine, or raise IllegalTransition."""
    if visit.kind == VisitKind.COMPANION:
        raise IllegalTransition(visit.status.value, target.value)
    current = visit.status
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current.value, target.value)
    now = now or clock.utcnow()
    recall = current == S.CALLED and target == S.CALLED
    visit.status = target
    visit.updated_at = now
    if recall:
        visit.recall_count += 1
        visit.recalled_at = now
    elif target in _TIMESTAMP:
        setattr(visit, _TIMESTAMP[target], now)

    consultant = visit.consultant
    if consultant is not None and consultant.on_duty:
        if target in IN_CONSULTATION:
            consultant.duty_status = DutyStatus.BUSY
        elif current in IN_CONSULTATION and not _consultant_busy_elsewhere(session, consultant, visit):
            consultant.duty_status = DutyStatus.AVAILABLE
    if target in (S.DONE, S.LEFT, S.NO_SHOW):
        for companion in _companions(session, visit):
            companion.status = target
            companion.updated_at = now

    action = "recall" if recall else target.value
    audit(session, actor, action, visit, previous=current.value)
    _event(session, "visit.recalled" if recall else "visit.status_changed", visit, previous=current.value,
           room=consultant.room if consultant else None)
    session.flush()
    return visit


def call(session: Session, visit: Visit, *, actor: Actor = KIOSK, now: dt.datetime | None = None) -> Visit:
    """Call (or recall, when already called) a visitor to their consultant's room."""
    return transition(session, visit, S.CALLED, actor=actor, now=now)


def next_for(session: Session, consultant: Staff, day: dt.date) -> Visit | None:
    """The visitor a consultant should call next: their own queue first, then the unassigned
    visitors of lines they can take, in order of arrival."""
    own = session.scalars(
        select(Visit)
        .where(Visit.clinic_day == day, Visit.status == S.WAITING, Visit.consultant_id == consultant.id,
               Visit.kind != VisitKind.COMPANION)
        .order_by(Visit.checked_in_at, Visit.id)
        # Two consultants calling at once on PostgreSQL: each takes a different visitor.
        .with_for_update(skip_locked=True, of=Visit)
    ).first()
    if own is not None:
        return own
    unassigned = session.scalars(
        select(Visit)
        .where(Visit.clinic_day == day, Visit.status == S.WAITING, Visit.consultant_id.is_(None),
               Visit.kind.not_in([VisitKind.COMPANION, VisitKind.COMPLAINT]))
        .order_by(Visit.checked_in_at, Visit.id)
        .with_for_update(skip_locked=True, of=Visit)
    ).all()
    for visit in unassigned:
        if triage.fits(consultant, triage.wanted_specialties(visit.line, visit.service)):
            return visit
    return None


def call_next(session: Session, consultant: Staff, *, actor: Actor = KIOSK,
              now: dt.datetime | None = None) -> Visit:
    """Call the next visitor for a consultant, or raise Conflict('nobody_waiting')."""
    now = now or clock.utcnow()
    visit = next_for(session, consultant, clinic_day(session, now))
    if visit is None:
        raise Conflict("nobody_waiting", consultant=consultant.username)
    if visit.consultant_id is None:
        visit.consultant = consultant
        visit.triage_rule = visit.triage_rule if visit.triage_rule != triage.UNASSIGNED else "call_next"
        for companion in _companions(session, visit):
            companion.consultant = consultant
    return call(session, visit, actor=actor, now=now)


def reassign(
    session: Session,
    visit: Visit,
    *,
    reason: str,
    consultant: Staff | None = None,
    line: Line | None = None,
    actor: Actor = KIOSK,
    now: dt.datetime | None = None,
) -> Visit:
    """Give a queued visitor another consultant (换人咨询) or line, with a reason.

    A new line means a new ticket number on that line; the visitor keeps their
    place by arrival time. A called visitor goes back to waiting for the new one.
    """
    reason = clean_text(reason, field="reason", limit=200, required=True, required_code="reason_required",
                        too_long_code="reason_too_long")
    if consultant is None and line is None:
        raise ValidationError("reassign_needs_target", field="consultant")
    if visit.kind == VisitKind.COMPANION or visit.status not in QUEUED:
        raise Conflict("reassign_not_queued", status=visit.status.value)
    if (consultant is None or consultant.id == visit.consultant_id) and (line is None or line.id == visit.line_id):
        raise Conflict("reassign_same")
    now = now or clock.utcnow()
    record = Reassignment(
        visit_id=visit.id,
        from_consultant_id=visit.consultant_id,
        from_line_id=visit.line_id,
        reason=reason,
        actor_id=actor.staff_id,
        at=now,
    )
    previous_ticket = visit.ticket
    if line is not None and line.id != visit.line_id:
        number = next_number(session, line, visit.clinic_day)
        visit.line = line
        visit.number = number
        visit.ticket = ticket_label(line, number)
        if consultant is None and visit.consultant is not None and not triage.fits(
            visit.consultant, triage.wanted_specialties(line, visit.service)
        ):
            visit.consultant = None
    if consultant is not None:
        visit.consultant = consultant
    visit.triage_rule = "reassigned"
    if visit.status == S.CALLED:
        visit.status = S.WAITING
    visit.updated_at = now
    for companion in _companions(session, visit):
        companion.consultant = visit.consultant
        companion.line = visit.line
    session.flush()
    record.to_consultant_id = visit.consultant_id
    record.to_line_id = visit.line_id
    session.add(record)
    audit(session, actor, "reassign", visit, reason=reason, previous_ticket=previous_ticket,
          from_consultant=record.from_consultant_id, to_consultant=record.to_consultant_id)
    _event(session, "visit.reassigned", visit, previous_ticket=previous_ticket)
    session.flush()
    return visit


def set_duty(session: Session, staff: Staff, status: DutyStatus, *, actor: Actor = KIOSK) -> Staff:
    """Change a consultant's state on the rotation board."""
    previous = staff.duty_status
    staff.duty_status = status
    audit(session, actor, "duty", None, staff=staff.username, previous=previous.value, status=status.value)
    events.record(session, "staff.duty_changed", staff=staff.username, status=status.value)
    session.flush()
    return staff


def expect_status(visit: Visit, expected: str | None) -> None:
    """Refuse an action taken on a stale screen: a colleague changed this visitor meanwhile.

    Two staff clicking "call" at once must not turn the second click into a recall.
    """
    if expected and visit.status.value != expected:
        raise Conflict("visit_changed", status=visit.status.value)


def expect_assignment(visit: Visit, consultant: str | None, line: str | None) -> None:
    """Refuse a reassignment made on a stale screen: the consultant ("none": unassigned) and line the
    screen showed must still be the visitor's, or two colleagues' changes would silently overwrite."""
    if consultant is not None and consultant != str(visit.consultant_id or "none"):
        raise Conflict("visit_changed", status=visit.status.value)
    if line is not None and line != str(visit.line_id):
        raise Conflict("visit_changed", status=visit.status.value)


def add_note(session: Session, visit: Visit, text: str, *, actor: Actor = KIOSK) -> Visit:
    """A note from the desk on a visit (kept with the visit, audited)."""
    text = clean_text(text, field="note", limit=500, required=True, required_code="note_required")
    visit.note = f"{visit.note}\n{text}" if visit.note else text
    audit(session, actor, "note", visit)
    _event(session, "visit.noted", visit)
    session.flush()
    return visit


def move_on_rotation_board(session: Session, staff_id: int, direction: int, *, actor: Actor = KIOSK) -> bool:
    """Swap a consultant with the one above (-1) or below (+1) on the 轮牌 board; False if unknown."""
    board = list(session.scalars(select(Staff).where(Staff.active, Staff.role == Role.CONSULTANT)
                                 .order_by(Staff.rotation_order, Staff.id)))
    index = next((i for i, member in enumerate(board) if member.id == staff_id), None)
    if index is None:
        return False
    other = index + direction
    if 0 <= other < len(board):
        board[index], board[other] = board[other], board[index]
        for order, member in enumerate(board):
            member.rotation_order = order
        audit(session, actor, "reorder", None, staff=board[other].username)
        events.record(session, "staff.reordered")
        session.flush()
    return True
