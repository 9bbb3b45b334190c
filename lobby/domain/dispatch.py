"""Who is next for this person: the one rule call-next follows (and the wait estimate simulates).

A consultant calling next gets the longest-waiting visitor among those she may serve: her own
(designated, requested, returning...) and the unassigned visitors of lines she fits. A doctor
gets his own and the unassigned post-op visitors. Complaints and browsing visitors are the
desk's, never called for anyone.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..models import Role, Staff, Visit, VisitKind
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
