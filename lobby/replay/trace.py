"""Replay traces: a clinic and its days as JSON Lines.

    {"type": "clinic", "timezone": "Asia/Shanghai", "lines": [...], "services": [...], "staff": [...]}
    {"type": "day", "date": "2026-03-02", "roster": [{"username", "start", "end", "breaks"}, ...]}
    {"type": "arrival", "at": "10:03:12", "kind": "walk-in", "service": "peel", "consultant": null,
     "minutes": 23.5, "no_show": false}

An arrival belongs to the day above it. `minutes` is how long the visit kept someone busy, from the
call to the end (a recorded day); a generated day gives `median` and `noise` instead, and the
replay makes it `median × the speed of whoever takes it × exp(noise)`. Staff may carry a `speed`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.dispatch import NOT_QUEUED
from ..domain.duty import CARE
from ..domain.settings import clinic_zone, get_settings
from ..models import Line, RosterShift, Service, Staff, Visit, VisitKind, VisitStatus


@dataclass
class Arrival:
    at: str  # local time of day, HH:MM:SS
    kind: str
    service: str | None = None
    consultant: str | None = None  # asked for by name (their own consultant, a surgeon)
    minutes: float | None = None
    median: float | None = None
    noise: float = 0.0
    no_show: bool = False


@dataclass
class TraceDay:
    date: dt.date
    roster: list[dict]
    arrivals: list[Arrival] = field(default_factory=list)


@dataclass
class Clinic:
    timezone: str
    lines: list[dict]
    services: list[dict]
    staff: list[dict]


@dataclass
class Trace:
    clinic: Clinic
    days: list[TraceDay]


def dumps(trace: Trace) -> str:
    rows = [{"type": "clinic", **asdict(trace.clinic)}]
    for day in trace.days:
        rows.append({"type": "day", "date": day.date.isoformat(), "roster": day.roster})
        rows += [{"type": "arrival", **{k: v for k, v in asdict(a).items() if v is not None}} for a in day.arrivals]
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def loads(text: str) -> Trace:
    clinic, days = None, []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            kind = row.pop("type")
            if kind == "clinic":
                clinic = Clinic(**row)
            elif kind == "day":
                days.append(TraceDay(dt.date.fromisoformat(row["date"]), row.get("roster") or []))
            elif kind == "arrival":
                arrival = Arrival(**row)
                dt.time.fromisoformat(arrival.at)  # a time of day, or ValueError here rather than mid-replay
                days[-1].arrivals.append(arrival)
            else:
                raise ValueError(f"unknown type {kind!r}")
        except (ValueError, TypeError, KeyError, IndexError) as err:
            raise ValueError(f"line {number}: {err}") from err
    if clinic is None:
        raise ValueError("no clinic line")
    return Trace(clinic, days)


def record(session: Session, days: list[dt.date]) -> Trace:
    """The clinic's own days as a trace: its lines, services, people and roster, and each visitor
    who was queued, with how long their visit kept someone busy."""
    tz = clinic_zone(session)
    lines = [{"code": ln.code, "prefix": ln.prefix, "name": ln.name_zh, "specialty": ln.specialty,
              "post_op": ln.post_op} for ln in session.scalars(select(Line).where(Line.active))]
    services = [{"code": s.code, "line": s.line.code if s.line else None, "specialty": s.specialty,
                 "minutes": s.typical_minutes} for s in session.scalars(select(Service))]
    staff = [{"username": m.username, "role": m.role.value, "specialties": list(m.specialties or []),
              "room": m.room} for m in session.scalars(select(Staff).where(Staff.active, Staff.role.in_(CARE)))]
    trace = Trace(Clinic(str(tz), lines, services, staff), [])
    for day in days:
        shifts = session.scalars(select(RosterShift).where(RosterShift.clinic_day == day)).all()
        roster = [{"username": s.staff.username, "start": s.starts.strftime("%H:%M"),
                   "end": s.ends.strftime("%H:%M"), "breaks": s.breaks or []} for s in shifts]
        recorded = TraceDay(day, roster)
        day_visits = session.scalars(select(Visit).where(Visit.clinic_day == day, Visit.kind.not_in(NOT_QUEUED))
                                     .order_by(Visit.checked_in_at, Visit.id)).all()
        if not roster:  # a day without a roster: whoever saw visitors, over the opening hours
            recorded.roster = _opening_hours_roster(session, day_visits)
        for visit in day_visits:
            named = visit.triage_rule in ("designated", "requested", "own", "partner", "surgeon")
            minutes = None
            if visit.status == VisitStatus.DONE and visit.called_at and visit.done_at:
                minutes = round((visit.done_at - visit.called_at).total_seconds() / 60, 2)
            no_show = visit.no_show_at is not None and visit.consultation_started_at is None
            if minutes is None and not no_show:
                continue  # left before being seen: nobody's time
            kind = visit.kind.value if visit.kind != VisitKind.APPOINTMENT else "returning"
            recorded.arrivals.append(Arrival(
                at=visit.checked_in_at.astimezone(tz).strftime("%H:%M:%S"), kind=kind,
                service=visit.service.code if visit.service else None,
                consultant=visit.consultant.username if named and visit.consultant else None,
                minutes=minutes, no_show=no_show))
        trace.days.append(recorded)
    return trace


def _opening_hours_roster(session: Session, day_visits: list[Visit]) -> list[dict]:
    settings = get_settings(session)
    starts, ends = ("00:00", "23:59") if settings.open_all_day else (
        settings.opens_at.strftime("%H:%M"), settings.closes_at.strftime("%H:%M"))
    seen = {person for v in day_visits for person in (v.consultant, v.doctor) if person is not None}
    return [{"username": m.username, "start": starts, "end": ends, "breaks": []}
            for m in sorted(seen, key=lambda m: m.id) if m.role in CARE]


def local_instant(day: dt.date, at: str, tz) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(at), tzinfo=tz).astimezone(dt.timezone.utc)

