"""Who is there (当班情况): each person's duty now, from the day's roster (排班) and the desk's word.

Duty, in the order it is decided:
1. the desk's word for today (available / away / off), until the time it gave, if any (on a day
   without a roster, someone "away until 12:00" is available from 12:00);
2. the day's roster: on shift → available, in a break → away until it ends, before or after
   the shift → off; someone not on a day's roster is off that day;
3. a standing status given with no day (the demo seed, a new account), until the day is closed;
4. otherwise off.
Whoever is available and has a visitor in front of them (with a consultant or the doctor they
were handed to) is busy. Yesterday's word never counts today: day close (dayclose.py) clears it.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import DutyStatus, Role, RosterShift, Staff, Visit, VisitStatus
from . import clock, events
from .audit import Actor, audit
from .errors import ValidationError
from .settings import clinic_day, clinic_zone

D = DutyStatus
# Who sees visitors: consultants, and doctors (surgeons) for post-op visits and hand-offs.
CARE = (Role.CONSULTANT, Role.DOCTOR)
# What the desk may say; busy is never said, it follows from the visits.
DESK_STATUSES = {D.AVAILABLE.value: D.AVAILABLE, D.AWAY.value: D.AWAY, D.OFF.value: D.OFF}


@dataclass(frozen=True)
class Duty:
    status: DutyStatus
    # Why: desk, roster, break, before_shift, shift_over, not_rostered, back, standing, no_word.
    reason: str
    # When this person is next available today, if known (a break's end, the shift's start,
    # the end of the desk's "away until").
    back_at: dt.datetime | None = None

    @property
    def serving(self) -> bool:
        """On duty: available or busy with a visitor."""
        return self.status in (D.AVAILABLE, D.BUSY)

    @property
    def absent(self) -> bool:
        return not self.serving


def _at(day: dt.date, time: dt.time, tz) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=tz).astimezone(dt.timezone.utc)


def parse_breaks(breaks) -> list[tuple[dt.time, dt.time]]:
    return [(dt.time.fromisoformat(start), dt.time.fromisoformat(end)) for start, end in breaks or []]


def _by_roster(shift: RosterShift, now: dt.datetime, tz) -> Duty:
    day = shift.clinic_day
    local = now.astimezone(tz).time()
    if local < shift.starts:
        return Duty(D.OFF, "before_shift", _at(day, shift.starts, tz))
    if local >= shift.ends:
        return Duty(D.OFF, "shift_over")
    for start, end in parse_breaks(shift.breaks):
        if start <= local < end:
            return Duty(D.AWAY, "break", _at(day, end, tz))
    return Duty(D.AVAILABLE, "roster")


def decide(staff: Staff, shift: RosterShift | None, day_has_roster: bool, busy: bool,
           day: dt.date, now: dt.datetime, tz) -> Duty:
    """One person's duty at `now` (the rules in this module's docstring)."""
    if staff.duty_day == day and (staff.duty_until is None or now < staff.duty_until):
        status = D.AVAILABLE if staff.duty_status == D.BUSY else staff.duty_status
        duty = Duty(status, "desk", staff.duty_until if status != D.AVAILABLE else None)
    elif shift is not None:
        duty = _by_roster(shift, now, tz)
    elif day_has_roster:
        duty = Duty(D.OFF, "not_rostered")
    elif staff.duty_day == day and staff.duty_until is not None:
        duty = Duty(D.AVAILABLE, "back")  # "away until 12:00" on a day without a roster: back at 12:00
    elif staff.duty_day is None and staff.duty_status != D.OFF:
        duty = Duty(D.AVAILABLE if staff.duty_status == D.BUSY else staff.duty_status, "standing")
    else:
        duty = Duty(D.OFF, "no_word")
    if busy and duty.status == D.AVAILABLE:
        return Duty(D.BUSY, duty.reason)
    return duty


class DutyBoard:
    """Everyone who sees visitors, with their duty at one instant: read once, asked many times."""

    def __init__(self, session: Session, now: dt.datetime | None = None, day: dt.date | None = None):
        self.now = now or clock.utcnow()
        self.day = day or clinic_day(session, self.now)
        self.tz = tz = clinic_zone(session)
        self.staff = list(session.scalars(select(Staff).where(Staff.active, Staff.role.in_(CARE))
                                          .order_by(Staff.role, Staff.rotation_order, Staff.id)))
        shifts = {shift.staff_id: shift for shift in
                  session.scalars(select(RosterShift).where(RosterShift.clinic_day == self.day))}
        busy = busy_ids(session, self.day)
        self._duty = {member.id: decide(member, shifts.get(member.id), bool(shifts), member.id in busy,
                                        self.day, self.now, tz) for member in self.staff}
        self.shifts = shifts

    def rebusied(self, busy: set[int]) -> DutyBoard:
        """The same board at the same instant, with who is busy told again (after a call or a finish)."""
        twin = copy.copy(self)
        twin._duty = {member.id: decide(member, self.shifts.get(member.id), bool(self.shifts), member.id in busy,
                                        self.day, self.now, self.tz) for member in self.staff}
        return twin

    def of(self, staff: Staff | int | None) -> Duty:
        staff_id = staff if isinstance(staff, int) or staff is None else staff.id
        return self._duty.get(staff_id, Duty(D.OFF, "no_word"))

    def serving(self, role: Role | None = None) -> list[Staff]:
        return [m for m in self.staff if self.of(m).serving and (role is None or m.role == role)]

    def on_duty_spans(self, member: Staff) -> list[tuple[dt.datetime, dt.datetime]]:
        """When `member` will be on duty from now to the end of the day, as [start, end) instants:
        the same rules as `decide`, asked at every instant where their answer can change (the
        desk's "until", the shift's start and end, each break's start and end)."""
        _, day_end = clock.day_bounds(self.day, self.tz)
        if self.now >= day_end:
            return []
        shift = self.shifts.get(member.id)
        changes = {self.now, day_end}
        if member.duty_day == self.day and member.duty_until is not None:
            changes.add(member.duty_until)
        if shift is not None:
            changes |= {_at(self.day, shift.starts, self.tz), _at(self.day, shift.ends, self.tz)}
            for start, end in parse_breaks(shift.breaks):
                changes |= {_at(self.day, start, self.tz), _at(self.day, end, self.tz)}
        instants = sorted(t for t in changes if self.now <= t <= day_end)
        spans: list[tuple[dt.datetime, dt.datetime]] = []
        for start, end in zip(instants, instants[1:]):
            if not decide(member, shift, bool(self.shifts), False, self.day, start, self.tz).serving:
                continue
            if spans and spans[-1][1] == start:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
        return spans


def busy_ids(session: Session, day: dt.date) -> set[int]:
    """Who has a visitor in front of them: the consultant of a visit in consultation (she stays with
    the visitor while the doctor is in, seed 004 5.3), and the doctor a visitor was handed to."""
    rows = session.execute(select(Visit.consultant_id, Visit.doctor_id, Visit.status).where(
        Visit.clinic_day == day, Visit.status.in_([VisitStatus.WITH_CONSULTANT, VisitStatus.WITH_DOCTOR]))).all()
    ids = {consultant for consultant, _, _ in rows if consultant is not None}
    ids |= {doctor for _, doctor, status in rows if doctor is not None and status == VisitStatus.WITH_DOCTOR}
    return ids


def set_duty(session: Session, staff: Staff, status: object, *, until: dt.datetime | None = None,
             actor: Actor, now: dt.datetime | None = None) -> Staff:
    """The desk's word on someone's duty for today (until `until`, if given); "roster" gives the
    word back to the day's roster."""
    now = now or clock.utcnow()
    if status == "roster":
        staff.duty_status, staff.duty_day, staff.duty_until = D.OFF, None, None
    else:
        wanted = DESK_STATUSES.get(status) if isinstance(status, str) else None
        if wanted is None:
            raise ValidationError("duty_invalid", field="status")
        if until is not None and until <= now:
            raise ValidationError("until_past", field="until")
        staff.duty_status, staff.duty_day, staff.duty_until = wanted, clinic_day(session, now), until
    audit(session, actor, "duty", None, staff=staff.username, status=str(status),
          until=until.isoformat() if until else None)
    events.record(session, "staff.duty_changed", staff=staff.username, status=str(status))
    session.flush()
    return staff


def move_on_rotation_board(session: Session, staff_id: int, direction: int, *, actor: Actor) -> bool:
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
