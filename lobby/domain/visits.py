"""The life of a visit: the state machine (call, recall, consult, doctor, done, skip, leave), who
is called next, reassignment (换人咨询) and notes. Check-in is in checkin.py."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import (
    Line,
    Reassignment,
    Role,
    Staff,
    Visit,
    VisitKind,
    VisitStatus,
)
from . import clock, dispatch, events, follow_ups, triage, webhooks
from .audit import Actor, audit
from .clients import note_consultation
from .errors import Conflict, IllegalTransition, ValidationError
from .settings import clinic_day
from .text import clean_text
from .tickets import move_to_line

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

# Complaints and browsing visitors are received at the desk: handled (done) or gone (left).
DESK_TRANSITIONS: dict[VisitStatus, frozenset[VisitStatus]] = {
    status: frozenset({S.DONE, S.LEFT}) if status == S.WAITING else frozenset() for status in S
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



# --- state changes ------------------------------------------------------------------


def _companions(session: Session, visit: Visit) -> list[Visit]:
    return list(session.scalars(select(Visit).where(Visit.companion_of_id == visit.id)))


def transition(
    session: Session,
    visit: Visit,
    target: VisitStatus,
    *,
    actor: Actor,
    now: dt.datetime | None = None,
    doctor: Staff | None = None,
) -> Visit:
    """Move a visit along the state machine, or raise IllegalTransition. A hand-off to the doctor
    names him (`doctor`): he is busy while the visitor is with him, and may open the visit."""
    if visit.kind == VisitKind.COMPANION:
        raise IllegalTransition(visit.status.value, target.value)
    current = visit.status
    allowed = DESK_TRANSITIONS if visit.kind in dispatch.DESK_KINDS else TRANSITIONS
    if target not in allowed[current]:
        raise IllegalTransition(current.value, target.value)
    if target == S.WITH_DOCTOR:
        if doctor is None:
            raise ValidationError("doctor_required", field="doctor")
        if doctor.role != Role.DOCTOR or not doctor.active:
            raise ValidationError("unknown_doctor", field="doctor", username=doctor.username)
        visit.doctor = doctor
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
    # Who is busy follows from the visits in consultation (duty.busy_ids): nothing to set here.
    if target in (S.DONE, S.LEFT, S.NO_SHOW):
        for companion in _companions(session, visit):
            companion.status = target
            companion.updated_at = now

    action = "recall" if recall else target.value
    audit(session, actor, action, visit, previous=current.value,
          **({"doctor": doctor.username} if target == S.WITH_DOCTOR else {}))
    _event(session, "visit.recalled" if recall else "visit.status_changed", visit, previous=current.value,
           room=consultant.room if consultant else None, consultant=consultant.display_name if consultant else None)
    if target == S.DONE:
        note_consultation(session, visit, actor=actor)  # 客户归属
    session.flush()
    return visit


# What staff and integrations ask a visit to become, by name; "recalled" is a second call.
TARGETS: dict[str, VisitStatus] = {
    "called": S.CALLED,
    "recalled": S.CALLED,
    "with_consultant": S.WITH_CONSULTANT,
    "with_doctor": S.WITH_DOCTOR,
    "done": S.DONE,
    "no_show": S.NO_SHOW,
    "left": S.LEFT,
    "waiting": S.WAITING,
}


def move(session: Session, visit: Visit, target: object, *, actor: Actor, now: dt.datetime | None = None,
         doctor: Staff | None = None, outcome: object = None, next_contact: dt.date | None = None,
         services: object = None) -> Visit:
    """Move a visit to a target named as in TARGETS. "called" is a first call only, "recalled" is only
    for a visitor already called: two people pressing "call" at once give one call, not a recall.
    Finishing may say how it ended (`outcome`, one of OUTCOMES) and when to talk again."""
    status = TARGETS.get(target) if isinstance(target, str) else None
    if status is None:
        raise ValidationError("status_invalid", field="to", status=str(target))
    if (target == "recalled") != (visit.status == S.CALLED and status == S.CALLED):
        raise IllegalTransition(visit.status.value, str(target))
    agreed = follow_ups.check(session, visit, finishing=status == S.DONE, outcome=outcome,
                              next_contact=next_contact, services=services)
    moved = transition(session, visit, status, actor=actor, now=now, doctor=doctor)
    follow_ups.record(session, visit, outcome=outcome, next_contact=next_contact, actor=actor, services=agreed)
    if status == S.DONE:
        data, personal = webhooks.visit_data(visit)  # personal data only if she agreed to be contacted
        webhooks.emit(session, "visit.finished", data, personal=webhooks.if_consented(session, visit.client, personal))
    return moved


def call(session: Session, visit: Visit, *, actor: Actor, now: dt.datetime | None = None) -> Visit:
    """Call (or recall, when already called) a visitor to their consultant's room."""
    return transition(session, visit, S.CALLED, actor=actor, now=now)


def call_next(session: Session, consultant: Staff, *, actor: Actor,
              now: dt.datetime | None = None) -> Visit:
    """Call the next visitor for a consultant, or raise Conflict('nobody_waiting'). An unassigned
    visitor becomes hers, and a first visit so received counts on her 轮牌."""
    now = now or clock.utcnow()
    visit = dispatch.next_for(session, consultant, clinic_day(session, now))
    if visit is None:
        raise Conflict("nobody_waiting", consultant=consultant.username)
    if visit.consultant_id is None:
        visit.consultant = consultant
        visit.triage_rule = triage.CALL_NEXT
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
    actor: Actor,
    now: dt.datetime | None = None,
) -> Visit:
    """Give a visitor another consultant (换人咨询) or line, with a reason: while queued, or during
    the consultation (seed 002 §6.11), when the first consultant is freed and the new one takes
    over in the room.

    A new line means a new ticket number on that line; the visitor keeps their
    place by arrival time. A called visitor goes back to waiting for the new one.
    """
    reason = clean_text(reason, field="reason", limit=200, required=True, required_code="reason_required",
                        too_long_code="reason_too_long")
    if consultant is None and line is None:
        raise ValidationError("reassign_needs_target", field="consultant")
    if visit.kind in dispatch.NOT_QUEUED or visit.status not in QUEUED + (S.WITH_CONSULTANT,):
        raise Conflict("reassign_not_queued", status=visit.status.value)
    if visit.status == S.WITH_CONSULTANT and (consultant is None or line is not None):
        raise Conflict("reassign_in_room_needs_consultant", status=visit.status.value)
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
        move_to_line(session, visit, line)
        if consultant is None and visit.consultant is not None and not triage.fits(
            visit.consultant, triage.wanted_specialties(line, visit.service)
        ):
            visit.consultant = None
    if consultant is not None:
        visit.consultant = consultant
    visit.triage_rule = triage.REASSIGNED
    if visit.status == S.CALLED:
        visit.status = S.WAITING
    elif visit.status == S.WITH_CONSULTANT:
        # The new consultant takes over in the room: a new consultation starts now.
        visit.consultation_started_at = now
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


def add_note(session: Session, visit: Visit, text: str, *, actor: Actor) -> Visit:
    """A note from the desk on a visit (kept with the visit, audited)."""
    text = clean_text(text, field="note", limit=500, required=True, required_code="note_required")
    visit.note = f"{visit.note}\n{text}" if visit.note else text
    audit(session, actor, "note", visit)
    _event(session, "visit.noted", visit)
    session.flush()
    return visit


