"""The roster page (排班): who works when on a day, with their breaks; duty follows it."""

from __future__ import annotations

import datetime as dt

from flask import redirect, render_template, url_for
from flask_login import current_user
from htmx_flask import request
from sqlalchemy import select

from lobby.database import unit_of_work
from lobby.domain import roster
from lobby.domain.duty import CARE
from lobby.domain.errors import DomainError
from lobby.domain.settings import clinic_day, get_settings
from lobby.domain.text import parse_day
from lobby.extensions import db
from lobby.messages import message_for
from lobby.models import Staff

from . import bp
from .auth import DESK, roles_required, staff_actor


def _staff():
    return db.session.scalars(select(Staff).where(Staff.active, Staff.role.in_(CARE))
                              .order_by(Staff.role, Staff.rotation_order, Staff.id)).all()


def _breaks_typed(text: str) -> list[list[str]]:
    """ "12:00-13:00, 17:30-17:45" → [["12:00", "13:00"], ["17:30", "17:45"]] (checked by the domain)."""
    pairs = []
    for part in (text or "").replace("，", ",").split(","):
        part = part.strip().replace("–", "-").replace("—", "-")
        if part:
            start, _, end = part.partition("-")
            pairs.append([start.strip(), end.strip()])
    return pairs


def _render(day: dt.date, typed: dict | None = None, error: str | None = None, field_index: int | None = None,
            saved: bool = False, status: int = 200):
    shifts = {s.staff_id: s for s in roster.roster_of(db.session, day)}
    rows = []
    for member in _staff():
        shift = shifts.get(member.id)
        rows.append({
            "staff": member,
            "start": (typed or {}).get(f"start-{member.id}", shift.starts.strftime("%H:%M") if shift else ""),
            "end": (typed or {}).get(f"end-{member.id}", shift.ends.strftime("%H:%M") if shift else ""),
            "breaks": (typed or {}).get(f"breaks-{member.id}",
                                        ", ".join(f"{a}-{b}" for a, b in shift.breaks) if shift else ""),
        })
    return render_template("admin/roster.html", day=day, rows=rows, error=error, error_staff=field_index,
                           saved=saved, previous=day - dt.timedelta(days=1), following=day + dt.timedelta(days=1),
                           today=clinic_day(db.session), settings=get_settings(db.session), me=current_user,
                           is_desk=True), status


def _day_asked() -> dt.date:
    return parse_day(request.values.get("date")) or clinic_day(db.session)


@bp.get("/roster", endpoint="roster")
@roles_required(*DESK)
def show_roster():
    return _render(_day_asked())


@bp.post("/roster", endpoint="save_roster")
@roles_required(*DESK)
def save_roster():
    """The whole day's roster as typed: a row without a start time is someone not working that day."""
    day = _day_asked()
    form = request.form
    entries, owners = [], []
    for member in _staff():
        start, end = form.get(f"start-{member.id}", "").strip(), form.get(f"end-{member.id}", "").strip()
        if start or end:
            entries.append({"username": member.username, "start": start, "end": end,
                            "breaks": _breaks_typed(form.get(f"breaks-{member.id}", ""))})
            owners.append(member.id)
    try:
        with unit_of_work(db.session):
            roster.replace_roster(db.session, day, entries, actor=staff_actor())
    except DomainError as err:
        index = int(err.field.split("]")[0].split("[")[1]) if err.field and err.field.startswith("roster[") else None
        return _render(day, typed=dict(form), error=message_for(err.code, **err.params),
                       field_index=owners[index] if index is not None else None, status=err.status)
    return _render(day, saved=True)


@bp.post("/roster/copy", endpoint="copy_roster")
@roles_required(*DESK)
def copy_roster():
    """This day's roster made like the day before's."""
    day = _day_asked()
    with unit_of_work(db.session):
        roster.copy_roster(db.session, day - dt.timedelta(days=1), day, actor=staff_actor())
    return redirect(url_for("admin.roster", date=day.isoformat()))
