"""The day's roster (排班): who works when, with their breaks. Duty follows it (duty.py).

A day's roster is replaced whole (by the desk's roster page or `PUT /api/v1/roster/<day>`), so what
is on the page is what is on file. Times are the clinic's local times; a shift starts and ends on
its own day.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..models import RosterShift, Staff
from . import events
from .audit import Actor, audit
from .duty import CARE
from .errors import ValidationError

_HH_MM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
MAX_BREAKS = 6


def parse_time(value: object, field: str) -> dt.time:
    """"09:30" → 09:30; anything else is `time_invalid` for `field`."""
    if not isinstance(value, str) or not _HH_MM.fullmatch(value.strip()):
        raise ValidationError("time_invalid", field=field)
    return dt.time.fromisoformat(value.strip())


def _checked_shift(entry: object, index: int, staff_by_name: dict[str, Staff]) -> tuple[Staff, dt.time, dt.time, list]:
    where = f"roster[{index}]"
    if not isinstance(entry, dict):
        raise ValidationError("roster_entry_invalid", field=where)
    member = staff_by_name.get(entry.get("username")) if isinstance(entry.get("username"), str) else None
    if member is None:
        raise ValidationError("unknown_consultant", field=f"{where}.username", username=str(entry.get("username")))
    starts, ends = parse_time(entry.get("start"), f"{where}.start"), parse_time(entry.get("end"), f"{where}.end")
    if ends <= starts:
        raise ValidationError("shift_order", field=f"{where}.end")
    breaks = entry.get("breaks") or []
    if not isinstance(breaks, list) or len(breaks) > MAX_BREAKS:
        raise ValidationError("breaks_invalid", field=f"{where}.breaks")
    kept = []
    for pair in breaks:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValidationError("breaks_invalid", field=f"{where}.breaks")
        start, end = parse_time(pair[0], f"{where}.breaks"), parse_time(pair[1], f"{where}.breaks")
        if not starts <= start < end <= ends:
            raise ValidationError("break_outside_shift", field=f"{where}.breaks")
        kept.append((start, end))
    kept.sort()
    if any(later[0] < earlier[1] for earlier, later in zip(kept, kept[1:])):
        raise ValidationError("breaks_overlap", field=f"{where}.breaks")
    return member, starts, ends, [[s.strftime("%H:%M"), e.strftime("%H:%M")] for s, e in kept]


def roster_of(session: Session, day: dt.date) -> list[RosterShift]:
    return list(session.scalars(select(RosterShift).join(Staff).where(RosterShift.clinic_day == day)
                                .order_by(Staff.role, Staff.rotation_order, Staff.id)))


def replace_roster(session: Session, day: dt.date, entries: object, *, actor: Actor) -> list[RosterShift]:
    """The whole roster of `day`, checked entry by entry before anything is replaced."""
    if not isinstance(entries, list):
        raise ValidationError("roster_invalid", field="roster")
    staff_by_name = {m.username: m for m in session.scalars(select(Staff).where(Staff.active, Staff.role.in_(CARE)))}
    shifts, seen = [], set()
    for index, entry in enumerate(entries):
        member, starts, ends, breaks = _checked_shift(entry, index, staff_by_name)
        if member.id in seen:
            raise ValidationError("roster_duplicate", field=f"roster[{index}].username", username=member.username)
        seen.add(member.id)
        shifts.append(RosterShift(clinic_day=day, staff=member, starts=starts, ends=ends, breaks=breaks))
    session.execute(delete(RosterShift).where(RosterShift.clinic_day == day))
    session.add_all(shifts)
    session.flush()
    audit(session, actor, "roster", None, day=day.isoformat(), shifts=len(shifts))
    events.record(session, "staff.roster_changed", day=day.isoformat())
    return shifts


def roster_json(shift: RosterShift) -> dict:
    return {"username": shift.staff.username, "name": shift.staff.display_name, "role": shift.staff.role.value,
            "start": shift.starts.strftime("%H:%M"), "end": shift.ends.strftime("%H:%M"),
            "breaks": [list(pair) for pair in shift.breaks or []]}


def copy_roster(session: Session, source: dt.date, day: dt.date, *, actor: Actor) -> list[RosterShift]:
    """`day`'s roster made like `source`'s (a week like the last)."""
    entries = [{"username": s.staff.username, "start": s.starts.strftime("%H:%M"),
                "end": s.ends.strftime("%H:%M"), "breaks": s.breaks} for s in roster_of(session, source)]
    return replace_roster(session, day, entries, actor=actor)
