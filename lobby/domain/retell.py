"""Telling a waiting visitor again when their wait has changed (seed 003 §6.2: keep the waiting
visitor informed; seed 002 §6.12: never leave them with a promise that no longer holds).

What a visitor was told is kept on the visit: the wait and its upper bound, and when (at check-in,
then at each re-telling). Their expected call is `told_at + told minutes`. When the current
estimate puts it more than the clinic's threshold (settings: retell_threshold_minutes, 10 by
default) earlier or later — or it became unknown, or known again — they are told again: their
phone shows the new range with a gentle notice, and the desk row asks a receptionist to tell them
in person until someone ticks it as told (audited).

Checked after every change of the queue (the publish) and when the desk's list refreshes, so a
consultation that overruns with nothing else happening is noticed within a minute.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models import Visit, VisitStatus
from . import clock
from .audit import Actor, audit
from .errors import Conflict
from .settings import get_settings
from .waits import QueueSnapshot, WaitEstimate


def remember_told(visit: Visit, estimate: WaitEstimate, now: dt.datetime) -> None:
    """What the visitor was just told (at check-in): the start of the comparison."""
    visit.predicted_wait_minutes = visit.told_wait_minutes = estimate.minutes
    visit.predicted_wait_max_minutes = visit.told_wait_max_minutes = estimate.upper
    visit.told_at = now


def has_moved(visit: Visit, estimate: WaitEstimate, now: dt.datetime, threshold: int) -> bool:
    """Whether the expected call has moved by more than `threshold` minutes since they were told."""
    if visit.told_at is None:
        return False
    if (visit.told_wait_minutes is None) != (estimate.minutes is None):
        return True
    if estimate.minutes is None:
        return False
    told_call = visit.told_at + dt.timedelta(minutes=visit.told_wait_minutes)
    expected_call = now + dt.timedelta(minutes=estimate.minutes)
    return abs((expected_call - told_call).total_seconds()) > threshold * 60


def check(session: Session, snapshot: QueueSnapshot, checked: dict | None = None) -> list[Visit]:
    """Re-tell every waiting visitor whose wait has moved; the visits re-told (caller commits).
    Each is updated only if nobody re-told them meanwhile (another process, the same change).
    `checked`: the estimates of a snapshot already checked; an estimate this one shares with it
    (the very same, made at the same instant) is not checked again: a check-in checks its newcomer."""
    threshold = get_settings(session).retell_threshold_minutes
    now = snapshot.now
    retold = []
    for visit_id in snapshot.moved_since(checked):
        visit = snapshot.waiting_visit(visit_id)
        estimate = snapshot.for_visit(visit)
        if not has_moved(visit, estimate, now, threshold):
            continue
        changed = session.execute(
            update(Visit)
            .where(Visit.id == visit.id, Visit.told_at == visit.told_at)
            .values(told_wait_minutes=estimate.minutes, told_wait_max_minutes=estimate.upper, told_at=now,
                    retold_at=now, desk_must_tell=True)
            .execution_options(synchronize_session="fetch")
        ).rowcount
        if changed:
            # The visit may be a shared state's (lobby/queue_state.py), read in another session.
            visit.told_wait_minutes, visit.told_wait_max_minutes = estimate.minutes, estimate.upper
            visit.told_at = visit.retold_at = now
            visit.desk_must_tell = True
            retold.append(visit)
    return retold


def catch_up(session: Session, snapshot: QueueSnapshot) -> int:
    """Copy onto a kept snapshot's waiting visits what another process re-told since they were read
    (a re-telling raises no queue version): one narrow read of the day's re-told visitors.
    Without it this process would compare against what it last knew, and its desk would not ask
    for the word in person. Returns how many visits it brought up to date."""
    rows = session.execute(
        select(Visit.id, Visit.told_wait_minutes, Visit.told_wait_max_minutes, Visit.told_at, Visit.retold_at,
               Visit.desk_must_tell)
        .where(Visit.clinic_day == snapshot.day, Visit.status == VisitStatus.WAITING, Visit.retold_at.is_not(None)))
    caught = 0
    for row in rows:
        visit = snapshot.waiting_visit(row.id)
        # Only what is newer: this process may have re-told them since (its commit not yet seen here).
        if visit is None or (visit.told_at is not None and row.told_at <= visit.told_at):
            continue
        visit.told_wait_minutes, visit.told_wait_max_minutes = row.told_wait_minutes, row.told_wait_max_minutes
        visit.told_at, visit.retold_at, visit.desk_must_tell = row.told_at, row.retold_at, row.desk_must_tell
        caught += 1
    return caught


def mark_told(session: Session, visit: Visit, *, actor: Actor, now: dt.datetime | None = None) -> Visit:
    """A receptionist told the visitor their new wait in person."""
    if not visit.desk_must_tell:
        raise Conflict("nothing_to_tell")
    visit.desk_must_tell = False
    audit(session, actor, "wait_told", visit, minutes=visit.told_wait_minutes,
          upper=visit.told_wait_max_minutes, at=(now or clock.utcnow()).isoformat())
    session.flush()
    return visit
