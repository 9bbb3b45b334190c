"""Complaints (投诉, seed 002 §6.17 and §9, seed 001 §4): the record the desk keeps of one.

The desk receives the complaint and writes down what happened (received by whom, when); it calms
the visitor first (the calming note), and what it cannot settle itself it reports to the head of
the department concerned (`Line.head`) — or, when that head is not on duty now, to customer service
(客服部, `ClinicSettings.customer_service` says who and where). "On duty" is the duty board's own
rule (duty.py): the desk's word for today, else the day's roster with its breaks; a head on a
break, before or after their shift, or not on the day's roster is off duty. A complaint with no
department, or a department with no (active) head, goes to customer service too. The complaint is
closed with its resolution. A complaint that names the same member of staff or the same client as
another one still open, or opened in the RECURRENCE_DAYS before it, is a recurrence (seed 001:
prevent the same problem happening again), and its record says so.

Complaint visits are the desk's (dispatch.DESK_KINDS): never on the board, in a consultant's queue
or called next. Every change is audited; opening and closing are sent to the clinic's webhooks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..models import Client, Complaint, Line, RosterShift, Staff, Visit
from . import clock, webhooks
from .audit import Actor, audit
from .duty import CARE, decide
from .errors import Conflict, ValidationError
from .settings import clinic_day, clinic_zone, get_settings
from .text import clean_name, clean_text, same_name, visible

# A complaint recurs when another names the same person or client, open or opened this recently.
RECURRENCE_DAYS = 30
TEXT_LIMIT = 2000
CUSTOMER_SERVICE = "customer_service"
# Why a complaint goes to customer service rather than a head (besides the head's duty reasons).
NO_DEPARTMENT, NO_HEAD = "no_department", "no_head"


def clean_long_text(value: object, *, field: str, required_code: str) -> str:
    """Text of several lines (what happened, a note, a resolution): each line made visible-safe
    (text.visible), blank runs collapsed, required, at most TEXT_LIMIT characters."""
    lines = [visible(line) for line in str(value or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    text = "\n".join(line for i, line in enumerate(lines) if line or (i and lines[i - 1])).strip()
    if not text:
        raise ValidationError(required_code, field=field)
    if len(text) > TEXT_LIMIT:
        raise ValidationError("text_too_long", field=field, limit=TEXT_LIMIT)
    return text


def caller(session: Session, name: object, phone: str | None) -> Client | None:
    """Who complains by phone or without a ticket: the client on file with this mobile and name, or
    a new (unsaved) client record; nobody when neither is given. A mobile on file under another name is
    refused (the desk checks the name; a complaint never renames a client)."""
    if not visible(name) or not phone:
        if visible(name) or phone:
            raise ValidationError("complaint_caller_incomplete", field="name" if not visible(name) else "phone")
        return None
    typed = clean_name(name)
    on_file = list(session.scalars(select(Client).where(Client.phone == phone, Client.erased_at.is_(None))
                                   .order_by(Client.id)))
    match = next((c for c in on_file if same_name(c.name, typed)), None)
    if match is not None:
        return match
    if on_file:
        raise ValidationError("complaint_phone_other_name", field="phone")
    return Client(name=typed, phone=phone)  # saved with the complaint (open_complaint)


def for_visit(session: Session, visit: Visit) -> Complaint | None:
    return session.scalars(select(Complaint).where(Complaint.visit_id == visit.id).order_by(Complaint.id.desc())).first()


def find(session: Session, public_id: str, lock: bool = False) -> Complaint | None:
    """The complaint; `lock` for a change (two clicks on "close" at once close it once)."""
    query = select(Complaint).where(Complaint.public_id == public_id)
    return session.scalars(query.with_for_update() if lock else query).first()


def webhook_data(complaint: Complaint) -> tuple[dict, dict]:
    """What a complaint's events say: (facts any endpoint may receive, personal data). The texts
    (what happened, notes, resolution) stay in the clinic: they may name anyone."""
    c, client, visit = complaint, complaint.client, complaint.visit
    who = (lambda staff: staff.username if staff is not None else None)  # noqa: E731
    data = {"complaint": c.public_id, "day": c.clinic_day.isoformat(), "line": c.line.code if c.line else None,
            "about_staff": who(c.about_staff), "received_by": who(c.received_by),
            "escalated_to": CUSTOMER_SERVICE if c.escalated_to_customer_service else who(c.escalated_to),
            "visit": visit.public_id if visit else None, "ticket": visit.ticket if visit else None,
            "client": client.public_id if client else None, "opened_at": c.opened_at.isoformat(),
            "closed_at": c.closed_at.isoformat() if c.closed_at else None}
    personal = {"name": client.name, "phone": client.phone} if client and not client.erased_at else {}
    return data, personal


def open_complaint(session: Session, *, what_happened: object, line: Line | None = None,
                   about_staff: Staff | None = None, visit: Visit | None = None, client: Client | None = None,
                   actor: Actor, now: dt.datetime | None = None) -> Complaint:
    """Record a complaint received by the actor (at the desk's registration, or phoned in)."""
    text = clean_long_text(what_happened, field="what_happened", required_code="complaint_what_required")
    if visit is not None and for_visit(session, visit) is not None:
        raise Conflict("complaint_exists")
    now = now or clock.utcnow()
    complaint = Complaint(visit=visit, client=client if client is not None else (visit.client if visit else None),
                          line=line, about_staff=about_staff, received_by_id=actor.staff_id,
                          clinic_day=clinic_day(session, now), opened_at=now, what_happened=text)
    session.add(complaint)
    session.flush()
    audit(session, actor, "complaint_opened", visit, complaint=complaint.public_id,
          line=line.code if line else None, staff=about_staff.username if about_staff else None)
    data, personal = webhook_data(complaint)
    webhooks.emit(session, "complaint.opened", data, personal=webhooks.if_consented(session, complaint.client, personal, unless_refused=True), now=now)
    return complaint


def _still_open(complaint: Complaint) -> None:
    if complaint.closed_at is not None:
        raise Conflict("complaint_closed")


def calm(session: Session, complaint: Complaint, *, note: object, actor: Actor,
         now: dt.datetime | None = None) -> Complaint:
    """The calming note (安抚): how the visitor was calmed; it may be rewritten until closed."""
    _still_open(complaint)
    complaint.calming_note = clean_long_text(note, field="calming_note", required_code="complaint_note_required")
    audit(session, actor, "complaint_calmed", complaint.visit, complaint=complaint.public_id)
    session.flush()
    return complaint


@dataclass(frozen=True)
class Escalation:
    """Where a complaint would go now: its head (`head`), or customer service (head None)."""

    head: Staff | None
    # head_on_duty; no_department, no_head; or the head's duty reason (duty.Duty.reason) when off duty.
    reason: str
    department_head: Staff | None = None  # the department's head, on duty or not
    back_at: dt.datetime | None = None

    @property
    def to_customer_service(self) -> bool:
        return self.head is None


def head_duty(session: Session, head: Staff, now: dt.datetime):
    """The head's duty at `now` by the duty board's rule (duty.decide): the desk's word for today,
    else the day's roster and its breaks. Busy with a visitor is still on duty."""
    day = clinic_day(session, now)
    shifts = list(session.scalars(select(RosterShift).where(RosterShift.clinic_day == day)))
    shift = next((s for s in shifts if s.staff_id == head.id), None)
    return decide(head, shift, bool(shifts), False, day, now, clinic_zone(session))


def escalation_target(session: Session, complaint: Complaint, now: dt.datetime | None = None) -> Escalation:
    """Whom the complaint goes to if reported now (the rule in this module's docstring)."""
    now = now or clock.utcnow()
    if complaint.line is None:
        return Escalation(None, NO_DEPARTMENT)
    head = complaint.line.head
    if head is None or not head.active:
        return Escalation(None, NO_HEAD)
    duty = head_duty(session, head, now)
    if duty.serving:
        return Escalation(head, "head_on_duty", head)
    return Escalation(None, duty.reason, head, duty.back_at)


def escalate(session: Session, complaint: Complaint, *, actor: Actor, now: dt.datetime | None = None) -> Escalation:
    """Report the complaint: to its department's head if on duty now, else to customer service."""
    _still_open(complaint)
    if complaint.escalated_at is not None:
        raise Conflict("complaint_already_escalated")
    now = now or clock.utcnow()
    target = escalation_target(session, complaint, now)
    complaint.escalated_to = target.head
    complaint.escalated_to_customer_service = target.to_customer_service
    complaint.escalated_at = now
    complaint.escalation_reason = target.reason
    audit(session, actor, "complaint_escalated", complaint.visit, complaint=complaint.public_id,
          staff=target.head.username if target.head else None,
          to=CUSTOMER_SERVICE if target.to_customer_service else "head", why=target.reason,
          head=target.department_head.username if target.department_head else None)
    session.flush()
    return target


def escalation_reason(session: Session, complaint: Complaint) -> str | None:
    """Why the complaint went where it went (kept on the record when it was reported)."""
    return complaint.escalation_reason if complaint.escalated_at is not None else None


def close(session: Session, complaint: Complaint, *, resolution: object, actor: Actor,
          now: dt.datetime | None = None) -> Complaint:
    """Close the complaint with how it was resolved (required)."""
    _still_open(complaint)
    complaint.resolution = clean_long_text(resolution, field="resolution",
                                           required_code="complaint_resolution_required")
    now = now or clock.utcnow()
    complaint.closed_at = now
    complaint.closed_by_id = actor.staff_id
    session.flush()
    audit(session, actor, "complaint_closed", complaint.visit, complaint=complaint.public_id)
    data, personal = webhook_data(complaint)
    webhooks.emit(session, "complaint.closed", data, personal=webhooks.if_consented(session, complaint.client, personal, unless_refused=True), now=now)
    return complaint


def set_routing(session: Session, *, customer_service: object, heads: dict[int, int | None], actor: Actor) -> None:
    """Who complaints go to: each line's head (a line id → an active consultant's or doctor's id, or
    None) and the customer-service text (who and where, e.g. "客服部 · 前台右侧 · 8001")."""
    settings = get_settings(session)
    session.add(settings)
    settings.customer_service = clean_text(customer_service, field="customer_service", limit=120)
    eligible = {m.id: m for m in session.scalars(select(Staff).where(Staff.active, Staff.role.in_(CARE)))}
    for line_id, head_id in heads.items():
        line = session.get(Line, line_id)
        if line is None:
            raise ValidationError("choice_invalid", field=f"head-{line_id}")
        if head_id is not None and head_id not in eligible:
            raise ValidationError("complaint_head_invalid", field=f"head-{line_id}")
        line.head = eligible.get(head_id) if head_id is not None else None
    session.flush()
    audit(session, actor, "settings", None, section="complaints")


def head_candidates(session: Session) -> list[Staff]:
    """Who may head a department: those on the roster (consultants and doctors), whose duty is known."""
    return list(session.scalars(select(Staff).where(Staff.active, Staff.role.in_(CARE)).order_by(Staff.role, Staff.id)))


def recurrences(session: Session, complaint: Complaint) -> list[Complaint]:
    """Other complaints, opened before this one, about the same person or from the same client,
    still open or opened within RECURRENCE_DAYS before it."""
    same = [c for c in (Complaint.about_staff_id == complaint.about_staff_id if complaint.about_staff_id else None,
                        Complaint.client_id == complaint.client_id if complaint.client_id else None) if c is not None]
    if not same:
        return []
    since = complaint.opened_at - dt.timedelta(days=RECURRENCE_DAYS)
    return list(session.scalars(
        select(Complaint).where(Complaint.id != complaint.id, Complaint.opened_at <= complaint.opened_at, or_(*same),
                                or_(Complaint.closed_at.is_(None), Complaint.opened_at >= since))
        .order_by(Complaint.opened_at.desc())))


def listing(session: Session, start: dt.date, end: dt.date, limit: int = 200) -> tuple[list[Complaint], list[Complaint]]:
    """Every complaint still open (oldest first, whatever its day), then those of `start`..`end`
    that are closed (latest closed first)."""
    still_open = session.scalars(select(Complaint).where(Complaint.closed_at.is_(None)).order_by(Complaint.opened_at))
    closed = session.scalars(select(Complaint).where(Complaint.closed_at.is_not(None), Complaint.clinic_day >= start,
                                                     Complaint.clinic_day <= end).order_by(Complaint.closed_at.desc()).limit(limit))
    return list(still_open), list(closed)


@dataclass(frozen=True)
class Figures:
    # (day, opened that day, closed that day, still open at the day's end — or now, for today)
    days: list[tuple[dt.date, int, int, int]]
    # (the person named, complaints naming them opened in the days, of which still open), most first
    per_staff: list[tuple[Staff, int, int]]
    opened: int
    closed: int
    to_heads: int
    to_customer_service: int


def figures(session: Session, start: dt.date, end: dt.date) -> Figures:
    """Complaints per day and per member of staff named, over the clinic days `start`..`end`."""
    tz = clinic_zone(session)
    first, last = clock.day_bounds(start, tz)[0], clock.day_bounds(end, tz)[1]
    # Every complaint open at some moment of the days: opened before their end, not closed before their start.
    rows = list(session.scalars(select(Complaint).where(
        Complaint.opened_at < last, or_(Complaint.closed_at.is_(None), Complaint.closed_at >= first))))
    days, day = [], start
    while day <= end:
        lo, hi = clock.day_bounds(day, tz)
        days.append((day, sum(1 for c in rows if c.clinic_day == day),
                     sum(1 for c in rows if c.closed_at is not None and lo <= c.closed_at < hi),
                     sum(1 for c in rows if c.opened_at < hi and (c.closed_at is None or c.closed_at >= hi))))
        day += dt.timedelta(days=1)
    opened = [c for c in rows if start <= c.clinic_day <= end]
    named: dict[int, list[Complaint]] = {}
    for c in opened:
        if c.about_staff_id is not None:
            named.setdefault(c.about_staff_id, []).append(c)
    per_staff = sorted(((found[0].about_staff, len(found), sum(1 for c in found if c.closed_at is None))
                        for found in named.values()), key=lambda row: (-row[1], row[0].display_name))
    return Figures(days, per_staff, len(opened), sum(d[2] for d in days),
                   sum(1 for c in opened if c.escalated_to_id is not None),
                   sum(1 for c in opened if c.escalated_to_customer_service))
