"""Who is next for this person: the one rule call-next follows (and the wait estimate simulates).

A consultant calling next gets the longest-waiting visitor among those she may serve: her own
(designated, requested, returning...) and the unassigned visitors of lines she fits. A doctor
gets his own and the unassigned post-op visitors. Complaints and browsing visitors are the
desk's, never called for anyone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..models import Role, Staff, Visit, VisitKind, VisitStatus
from .triage import fits, wanted_specialties

# Received by the front desk itself: not in anyone's queue, not on the TV, not in the waits.
DESK_KINDS = (VisitKind.COMPLAINT, VisitKind.BROWSING)
NOT_QUEUED = DESK_KINDS + (VisitKind.COMPANION,)


def may_serve(staff: Staff, visit: Visit) -> bool:
    """Whether `staff` may be given this waiting visitor when they call next."""
    if visit.kind in NOT_QUEUED:
        return False
    if visit.consultant_id is not None:
        return visit.consultant_id == staff.id
    if visit.line.post_op:
        return staff.role == Role.DOCTOR
    return staff.role == Role.CONSULTANT and fits(staff, wanted_specialties(visit.line, visit.service))


def waiting_order(visit: Visit):
    """Longest-waiting first: arrival, then ticket order."""
    return (visit.checked_in_at, visit.id)


def pick_next(staff: Staff, waiting: Iterable[Visit]) -> Visit | None:
    """The longest-waiting visitor `staff` may serve, or None."""
    return min((v for v in waiting if may_serve(staff, v)), key=waiting_order, default=None)


PAGE = 20  # unassigned visitors read at a time, in order, until one she may serve


def next_for(session: Session, staff: Staff, day: dt.date) -> Visit | None:
    """The visitor `staff` should call next (pick_next, the one rule), read lean: her own first
    waiting, and the unassigned in order of arrival only until the first she may serve before
    that one — not every visitor waiting today. Read without locks; only the pick is then locked
    (on PostgreSQL, FOR UPDATE SKIP LOCKED until the call commits): a colleague calling at the same
    instant skips the visitor being called, not the others this read passed over; a pick a
    colleague has just taken is passed over and the next one looked for."""
    taken: set[int] = set()
    while True:
        pick = _pick(session, staff, day, taken)
        if pick is None:
            return None
        locked = session.scalars(select(Visit).where(Visit.id == pick.id, Visit.status == VisitStatus.WAITING)
                                 .with_for_update(skip_locked=True, of=Visit)
                                 .execution_options(populate_existing=True)).first()
        if locked is not None:
            return locked
        taken.add(pick.id)


def _pick(session: Session, staff: Staff, day: dt.date, taken: set[int]) -> Visit | None:
    waiting = (select(Visit)
               .where(Visit.clinic_day == day, Visit.status == VisitStatus.WAITING, Visit.kind.not_in(NOT_QUEUED))
               .order_by(Visit.checked_in_at, Visit.id))
    if taken:
        waiting = waiting.where(Visit.id.not_in(taken))
    own = session.scalars(waiting.where(Visit.consultant_id == staff.id).limit(1)).first()
    candidates = [own] if own is not None else []
    unassigned = waiting.where(Visit.consultant_id.is_(None))
    after = None
    while True:
        page = unassigned if after is None else unassigned.where(_later_than(after))
        if own is not None:
            page = page.where(~_later_than(own))
        rows = session.scalars(page.limit(PAGE)).all()
        fitting = next((visit for visit in rows if may_serve(staff, visit)), None)
        if fitting is not None or len(rows) < PAGE:
            candidates += [fitting] if fitting is not None else []
            return pick_next(staff, candidates)
        after = rows[-1]


def _later_than(visit: Visit):
    """Arrived after `visit` (waiting_order), as a condition of the query."""
    return or_(Visit.checked_in_at > visit.checked_in_at,
               and_(Visit.checked_in_at == visit.checked_in_at, Visit.id > visit.id))
