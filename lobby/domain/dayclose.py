"""The end of a clinic day: the next morning starts clean.

Closing a day marks everyone still active on it (or before) as left, with the reason "day closed"
(they cannot be waiting tomorrow, and the purge can then take them in time), and gives duty back
to the roster: the desk's word and standing statuses of that day end. Bookings of the day nobody
came for become no-shows (and the clinic's systems hear of each: a webhook). `flask close-day` closes a
day on purpose (a cron line at night); the server closes past days by itself at the first request
of a new clinic day (`close_past_days`), so a clinic that forgot is still right in the morning.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.orm import Session

from ..models import (
    Appointment,
    AppointmentStatus,
    DayClose,
    DutyStatus,
    RequestKey,
    Staff,
    Visit,
    VisitKind,
    VisitStatus,
)
from . import clock, events, webhooks
from .audit import Actor, audit
from .settings import clinic_day, clinic_zone, get_settings
from .visits import ACTIVE

DAY_CLOSED = "day_closed"
# Who closes a day nobody closed: the server itself.
SYSTEM = Actor("system")


def close_day(session: Session, day: dt.date, *, actor: Actor, now: dt.datetime | None = None) -> int:
    """Close `day` (and anything still open before it); returns how many visits were closed."""
    now = now or clock.utcnow()
    still_here = list(session.scalars(select(Visit).where(
        Visit.clinic_day <= day, Visit.status.in_(ACTIVE + (VisitStatus.NO_SHOW,)))))
    for visit in still_here:
        visit.status = VisitStatus.LEFT
        visit.left_at = visit.updated_at = now
        visit.left_reason = DAY_CLOSED
    for member in session.scalars(select(Staff).where(or_(Staff.duty_day.is_(None), Staff.duty_day <= day))):
        member.duty_status, member.duty_day, member.duty_until = DutyStatus.OFF, None, None
    record = session.get(DayClose, day) or DayClose(clinic_day=day)
    record.closed_at = now
    record.visits_closed = (record.visits_closed or 0) + len(still_here)
    session.add(record)
    queued = sum(1 for v in still_here if v.kind != VisitKind.COMPANION)
    missed = _bookings_not_kept(session, day, now)
    # The day's writes will not be sent again: their idempotency keys and kept answers go.
    session.execute(delete(RequestKey).where(RequestKey.created_at < clock.day_bounds(day, clinic_zone(session))[1]))
    audit(session, actor, "close_day", None, day=day.isoformat(), visits=queued, no_shows=missed)
    events.record(session, "day.closed", day=day.isoformat())
    session.flush()
    return queued


def _bookings_not_kept(session: Session, day: dt.date, now: dt.datetime) -> int:
    """Bookings of `day` (or before) still booked past their late window: nobody came. A booking
    later today (the day closed early, by hand) stays booked. Returns how many."""
    _, end = clock.day_bounds(day, clinic_zone(session))
    late = dt.timedelta(minutes=get_settings(session).late_arrival_minutes)
    missed = list(session.scalars(select(Appointment).where(
        Appointment.starts_at < min(end, now - late), Appointment.status == AppointmentStatus.BOOKED)))
    for booking in missed:
        booking.status = AppointmentStatus.NO_SHOW
        booking.updated_at = now
        client = booking.client
        webhooks.emit(session, "appointment.no_show", {
            "appointment": booking.public_id, "code": booking.code, "starts_at": booking.starts_at.isoformat(),
            "service": booking.service.code if booking.service else None,
            "consultant": booking.staff.username if booking.staff else None,
            "client": client.public_id if client else None,
        }, personal=webhooks.if_consented(
            session, client, {"name": client.name, "phone": client.phone} if client and not client.erased_at else None,
            unless_refused=True), now=now)
    return len(missed)


def needs_closing(session: Session, today: dt.date) -> bool:
    """Whether a day before `today` was left open: never closed, or someone still active on it."""
    last = session.scalar(select(func.max(DayClose.clinic_day)))
    if last is None or last < today - dt.timedelta(days=1):
        # Unclosed days: worth closing if anything happened on them (a new clinic's first day has
        # nothing behind it, and its standing duty stays).
        return bool(session.scalar(select(exists().where(Visit.clinic_day < today))))
    return bool(session.scalar(select(exists().where(
        Visit.clinic_day < today, Visit.status.in_(ACTIVE + (VisitStatus.NO_SHOW,))))))


def close_past_days(session: Session, *, actor: Actor, now: dt.datetime | None = None) -> bool:
    """Close yesterday (and any day before it) if that was forgotten; True if something was closed."""
    now = now or clock.utcnow()
    today = clinic_day(session, now)
    if not needs_closing(session, today):
        return False
    close_day(session, today - dt.timedelta(days=1), actor=actor, now=now)
    return True
