"""The day's figures: what a clinic's managers count by hand — visits by hour, line, kind and channel,
first visits and conversions per consultant, waits, the face-to-face table (face_to_face.py) — for a
day or a range. Figures over time are trends.py's.

Every figure is computed from stored facts (times, kinds, lines, consultants,
channels), so purged or erased visitors still count.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..models import (
    Appointment,
    AppointmentStatus,
    Reassignment,
    Staff,
    Visit,
    VisitStatus,
)
from . import clock, conversions, face_to_face
from .settings import clinic_zone, get_settings


@dataclass
class Table:
    """A titled table: what a chart draws and what an export writes."""

    key: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)


def _minutes(later: dt.datetime | None, earlier: dt.datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return (later - earlier).total_seconds() / 60


def _waits_summary(values: list[float], threshold: int) -> list:
    if not values:
        return [0, None, None, None, 0]
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return [len(values), round(statistics.median(values), 1), round(p90, 1), round(max(values), 1),
            sum(1 for v in values if v > threshold)]


@dataclass
class Report:
    start: dt.date
    end: dt.date
    tables: dict[str, Table]
    wait_error_minutes: float | None


def build_report(session: Session, start: dt.date, end: dt.date, *, now: dt.datetime | None = None,
                 locale: str = "zh") -> Report:
    """Figures for the clinic days start..end (inclusive)."""
    now = now or clock.utcnow()
    tz = clinic_zone(session)
    threshold = get_settings(session).long_wait_minutes
    late_minutes = get_settings(session).late_arrival_minutes
    visits = conversions.load_visits(session, start, end)
    def name_of(obj) -> str:
        return obj.name(locale)  # lines and services have zh and en names

    tables: dict[str, Table] = {}

    by_hour = Counter()
    by_line = Counter()
    for v in visits:
        by_hour[v.checked_in_at.astimezone(tz).hour] += 1
        by_line[name_of(v.line)] += 1
    tables["by_hour"] = Table("by_hour", ["hour", "visits"], [[f"{h:02d}:00", by_hour[h]] for h in sorted(by_hour)])
    tables["by_line"] = Table("by_line", ["line", "visits"], sorted([[k, n] for k, n in by_line.items()]))
    tables["by_kind"] = Table("by_kind", ["kind", "visits"],
                              sorted([[k, n] for k, n in Counter(v.kind.value for v in visits).items()]))
    tables["by_channel"] = Table("by_channel", ["channel", "visits"], sorted(
        [[k or "-", n] for k, n in Counter(v.client.channel if v.client else None for v in visits).items()]))
    tables["by_partner"] = Table("by_partner", ["partner", "visits"], sorted(
        [[k, n] for k, n in Counter(v.client.partner.name for v in visits
                                    if v.client and v.client.partner).items()]))

    waits_by_line: dict[str, list[float]] = defaultdict(list)
    waits_by_hour: dict[int, list[float]] = defaultdict(list)
    errors, beyond = [], []  # how far off the told wait was; whether they waited past its upper bound
    for v in visits:
        waited = _minutes(v.called_at, v.checked_in_at)
        if waited is None:
            continue
        waits_by_line[name_of(v.line)].append(waited)
        waits_by_hour[v.checked_in_at.astimezone(tz).hour].append(waited)
        if v.predicted_wait_minutes is not None:
            errors.append(abs(waited - v.predicted_wait_minutes))
            # Told in whole minutes: a wait past the bound is one that rounds above it.
            beyond.append(v.predicted_wait_max_minutes is not None and round(waited) > v.predicted_wait_max_minutes)
    wait_columns = ["", "called", "median_min", "p90_min", "longest_min", f"over_{threshold}_min"]
    tables["wait_by_line"] = Table("wait_by_line", ["line", *wait_columns[1:]],
                                   [[k, *_waits_summary(w, threshold)] for k, w in sorted(waits_by_line.items())])
    tables["wait_by_hour"] = Table("wait_by_hour", ["hour", *wait_columns[1:]],
                                   [[f"{h:02d}:00", *_waits_summary(w, threshold)]
                                    for h, w in sorted(waits_by_hour.items())])

    reassigned_away = Counter(session.scalars(
        select(Reassignment.from_consultant_id).join(Visit, Visit.id == Reassignment.visit_id)
        .where(Visit.clinic_day >= start, Visit.clinic_day <= end, Reassignment.from_consultant_id.is_not(None))
    ))
    per_consultant: dict[int, dict] = {}
    for v in visits:
        if v.consultant is None:
            continue
        row = per_consultant.setdefault(v.consultant_id, {"name": v.consultant.display_name, "served": 0,
                                                          "first": 0, "minutes": []})
        if v.status == VisitStatus.DONE:
            row["served"] += 1
            length = _minutes(v.done_at, v.consultation_started_at)
            if length is not None:
                row["minutes"].append(length)
        if v.first_visit and v.triage_rule == "rotation":
            row["first"] += 1
    for staff_id in reassigned_away:
        if staff_id not in per_consultant:
            staff = session.get(Staff, staff_id)
            per_consultant[staff_id] = {"name": staff.display_name, "served": 0, "first": 0, "minutes": []}
    tables["per_consultant"] = Table(
        "per_consultant", ["consultant", "served", "rotation_first_visits", "reassigned_away", "avg_consultation_min"],
        [[r["name"], r["served"], r["first"], reassigned_away.get(sid, 0),
          round(statistics.mean(r["minutes"]), 1) if r["minutes"] else None]
         for sid, r in sorted(per_consultant.items(), key=lambda item: item[1]["name"])])

    start_utc, _ = clock.day_bounds(start, tz)
    _, end_utc = clock.day_bounds(end, tz)
    booked = session.scalars(select(Appointment).where(Appointment.starts_at >= start_utc,
                                                       Appointment.starts_at < end_utc)
                             .options(selectinload(Appointment.client))).all()
    visit_of = {v.appointment_id: v for v in visits if v.appointment_id}
    outcome = Counter()
    for a in booked:
        if a.status == AppointmentStatus.CANCELLED:
            outcome["cancelled"] += 1
        elif a.id in visit_of:
            late = visit_of[a.id].checked_in_at > a.starts_at + dt.timedelta(minutes=late_minutes)
            outcome["late" if late else "kept"] += 1
        elif a.starts_at < now:
            outcome["no_show"] += 1
        else:
            outcome["booked"] += 1
    tables["appointments"] = Table("appointments", ["outcome", "appointments"],
                                   [[k, outcome[k]] for k in ("kept", "late", "no_show", "cancelled", "booked")])

    # 一日当面咨询表: every visitor, each consultant's order of first visits, the channels (face_to_face.py).
    tables["face_to_face"] = Table("face_to_face", face_to_face.VISITOR_COLUMNS,
                                   face_to_face.visitor_rows(visits, tz, name_of))
    tables["face_to_face_consultants"] = Table("face_to_face_consultants", face_to_face.CONSULTANT_COLUMNS,
                                               face_to_face.consultant_rows(visits))
    tables["face_to_face_channels"] = Table("face_to_face_channels", face_to_face.CHANNEL_COLUMNS,
                                            face_to_face.channel_rows(visits))
    error = round(statistics.mean(errors), 1) if errors else None
    tables["wait_accuracy"] = Table(
        "wait_accuracy", ["visitors_compared", "mean_absolute_error_min", "within_5_min_pct", "above_upper_pct"],
        [[len(errors), error, round(100 * sum(e <= 5 for e in errors) / len(errors)) if errors else None,
          round(100 * sum(beyond) / len(beyond)) if beyond else None]])
    return Report(start, end, tables, error)
