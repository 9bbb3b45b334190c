"""The desk's complaints (投诉): the list with its figures, a complaint's record (calming note, report
to the head or customer service, resolution and close), a complaint phoned in or without a ticket,
and — for admins, on the settings page — who each department's head is and who customer service is.
Desk and admin roles only: a complaint may name a consultant or a doctor."""

from __future__ import annotations

import datetime as dt

from flask import abort, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from htmx_flask import request
from sqlalchemy import select

from lobby.database import unit_of_work
from lobby.domain import clock, complaints, lookups
from lobby.domain.errors import DomainError
from lobby.domain.phone import normalise_phone
from lobby.domain.settings import clinic_day, get_settings
from lobby.domain.text import parse_day, parse_id
from lobby.extensions import db
from lobby.messages import message_for
from lobby.models import Complaint, Line, Role, Staff, Visit

from . import bp
from .auth import DESK, roles_required, staff_actor

MAX_DAYS = 366
SHOWN_DAYS = 7
# What a redirect after an action says on the record (?done=...).
DONE = {"opened", "calmed", "escalated", "closed"}
# Why a complaint went to customer service, said after the fact (the head's duty reasons, duty.py).
WENT_TO_CUSTOMER_SERVICE = {
    complaints.NO_DEPARTMENT: _l("No department was given."),
    complaints.NO_HEAD: _l("The department had no head."),
    "break": _l("The head was on a break."),
    "before_shift": _l("The head's shift had not started."),
    "shift_over": _l("The head's shift was over."),
    "not_rostered": _l("The head was not on the roster that day."),
    "desk": _l("The desk had marked the head away or off duty."),
}


def choices() -> dict:
    """What a complaint form offers: the departments (lines) and the staff a complaint may name."""
    return {"departments": db.session.scalars(select(Line).where(Line.active).order_by(Line.position, Line.id)).all(),
            "named_staff": db.session.scalars(select(Staff).where(Staff.active)
                                              .order_by(Staff.role, Staff.display_name)).all()}


def complaint_fields(form, errors: dict) -> dict:
    """What happened, the department and the person named, as a form sends them; a mistake goes into
    `errors` (field → message), so every mistake of the form is shown at once."""
    fields = {"what_happened": None, "line_id": None, "about_id": None}
    try:
        fields["what_happened"] = complaints.clean_long_text(form.get("what_happened"), field="what_happened",
                                                             required_code="complaint_what_required")
    except DomainError as err:
        errors["what_happened"] = message_for(err.code, **err.params)
    for name, key, model in (("complaint_line", "line_id", Line), ("about_staff", "about_id", Staff)):
        raw = (form.get(name) or "").strip()
        row = db.session.get(model, parse_id(raw)) if parse_id(raw) else None
        if raw and (row is None or not row.active):
            errors[name] = message_for("choice_invalid")
        fields[key] = row.id if row is not None else None
    return fields


def open_for(fields: dict, *, visit: Visit | None = None, client=None) -> Complaint:
    """Open the complaint the fields describe, in the caller's unit of work."""
    return complaints.open_complaint(
        db.session, what_happened=fields["what_happened"], visit=visit, client=client, actor=staff_actor(),
        line=db.session.get(Line, fields["line_id"]) if fields["line_id"] else None,
        about_staff=db.session.get(Staff, fields["about_id"]) if fields["about_id"] else None)


def _common() -> dict:
    return {"settings": get_settings(db.session), "me": current_user, "is_desk": True}


def _range() -> tuple[dt.date, dt.date]:
    today = clinic_day(db.session)
    end = parse_day(request.args.get("end")) or today
    start = parse_day(request.args.get("start")) or end - dt.timedelta(days=SHOWN_DAYS - 1)
    if end < start:
        start, end = end, start
    return max(start, end - dt.timedelta(days=MAX_DAYS)), end


def _list_page(status: int = 200, **extra):
    start, end = _range()
    still_open, closed = complaints.listing(db.session, start, end)
    recurring = {c.id: len(complaints.recurrences(db.session, c)) for c in still_open + closed}
    context = {"start": start, "end": end, "still_open": still_open, "closed": closed, "recurring": recurring,
               "figures": complaints.figures(db.session, start, end), "form": {}, "errors": {}, "visit": None,
               **choices(), **_common(), **extra}
    return render_template("admin/complaints.html", **context), status


@bp.get("/complaints", endpoint="complaints")
@roles_required(*DESK)
def complaints_page():
    """Open complaints first, then those closed in the days chosen; the figures per day and per person."""
    return _list_page()


@bp.post("/complaints", endpoint="open_new_complaint")
@roles_required(*DESK)
def open_new_complaint():
    """A complaint phoned in, or made without a ticket (or about a visit: `visit`)."""
    form = request.form
    visit = None
    if form.get("visit"):
        visit = db.session.scalars(select(Visit).where(Visit.public_id == form.get("visit", "")[:40])).first()
        if visit is None:
            abort(404)
    errors: dict = {}
    fields = complaint_fields(form, errors)
    phone = None
    if visit is None and (form.get("phone") or "").strip():
        try:
            phone = normalise_phone(form.get("phone"))
        except DomainError as err:
            errors["phone"] = message_for(err.code)
    if not errors:
        try:
            with unit_of_work(db.session):
                linked = db.session.get(Visit, visit.id) if visit is not None else None
                client = complaints.caller(db.session, form.get("name"), phone) if linked is None else None
                complaint = open_for(fields, visit=linked, client=client)
        except DomainError as err:
            if err.code == "complaint_exists" and visit is not None:
                return redirect(url_for("admin.complaint_detail", public_id=complaints.for_visit(db.session, visit).public_id))
            errors[err.field or "what_happened"] = message_for(err.code, **err.params)
    if errors:
        if visit is not None:
            return render_template("admin/complaint_new.html", visit=visit, form=form, errors=errors,
                                   **choices(), **_common()), 422
        return _list_page(422, form=form, errors=errors, show_form=True)
    return redirect(url_for("admin.complaint_detail", public_id=complaint.public_id, done="opened"))


@bp.get("/complaints/visit/<public_id>", endpoint="complaint_for_visit")
@roles_required(*DESK)
def complaint_for_visit(public_id: str):
    """A visit's complaint record; none yet (a complaint checked in by the API, say): the form to open it."""
    visit = lookups.get_visit(db.session, public_id[:40])
    existing = complaints.for_visit(db.session, visit)
    if existing is not None:
        return redirect(url_for("admin.complaint_detail", public_id=existing.public_id))
    return render_template("admin/complaint_new.html", visit=visit, form={}, errors={}, **choices(), **_common())


def _record(public_id: str, status: int = 200, errors: dict | None = None, form=None):
    complaint = complaints.find(db.session, public_id[:40])
    if complaint is None:
        abort(404)
    done = request.args.get("done") if status == 200 and request.method == "GET" else None
    target = None
    if complaint.closed_at is None and complaint.escalated_at is None:
        target = complaints.escalation_target(db.session, complaint, clock.utcnow())
    context = {"complaint": complaint, "target": target, "done": done if done in DONE else None,
               "why": complaints.escalation_reason(db.session, complaint), "went_to_customer_service": WENT_TO_CUSTOMER_SERVICE,
               "recurrences": complaints.recurrences(db.session, complaint), "recurrence_days": complaints.RECURRENCE_DAYS,
               "errors": errors or {}, "form": form or {}, **_common()}
    return render_template("admin/complaint.html", **context), status


@bp.get("/complaints/<public_id>", endpoint="complaint_detail")
@roles_required(*DESK)
def complaint_detail(public_id: str):
    return _record(public_id)


def _act(public_id: str, action: str, change):
    """One change to a complaint, then back to its record (or the record with the mistake)."""
    try:
        with unit_of_work(db.session):
            complaint = complaints.find(db.session, public_id[:40], lock=True)
            if complaint is None:
                abort(404)
            change(complaint)
    except DomainError as err:
        db.session.rollback()
        return _record(public_id, err.status, errors={err.field or "complaint": message_for(err.code, **err.params)},
                       form=request.form)
    return redirect(url_for("admin.complaint_detail", public_id=public_id, done=action))


@bp.post("/complaints/<public_id>/calm", endpoint="calm_complaint")
@roles_required(*DESK)
def calm_complaint(public_id: str):
    """Save the calming note (rewritten as often as needed until the complaint is closed)."""
    return _act(public_id, "calmed", lambda c: complaints.calm(db.session, c, note=request.form.get("calming_note"),
                                                               actor=staff_actor()))


@bp.post("/complaints/<public_id>/escalate", endpoint="escalate_complaint")
@roles_required(*DESK)
def escalate_complaint(public_id: str):
    """Report to the department's head if on duty now, else to customer service."""
    return _act(public_id, "escalated", lambda c: complaints.escalate(db.session, c, actor=staff_actor()))


@bp.post("/complaints/<public_id>/close", endpoint="close_complaint")
@roles_required(*DESK)
def close_complaint(public_id: str):
    """Close with the resolution (required)."""
    return _act(public_id, "closed", lambda c: complaints.close(db.session, c, resolution=request.form.get("resolution"),
                                                                actor=staff_actor()))


@bp.post("/complaints/routing", endpoint="save_complaint_routing")
@roles_required(Role.ADMIN)
def save_complaint_routing():
    """Settings: each department's head and who customer service is (the clinic section's card)."""
    from .settings import _page

    form = request.form
    errors: dict = {}
    heads: dict[int, int | None] = {}
    for line in db.session.scalars(select(Line)):
        key = f"head-{line.id}"
        if key not in form:
            continue  # a line added since the page was shown keeps its head
        raw = (form.get(key) or "").strip()
        if raw and parse_id(raw) is None:
            errors[key] = message_for("choice_invalid")
        heads[line.id] = parse_id(raw)
    if not errors:
        try:
            with unit_of_work(db.session):
                complaints.set_routing(db.session, customer_service=form.get("customer_service"), heads=heads,
                                       actor=staff_actor())
        except DomainError as err:
            errors[err.field or "customer_service"] = message_for(err.code, **err.params)
    if errors:
        return _page("clinic", 422, complaint_errors=errors, complaint_form=form)
    return _page("clinic", message=_("Saved: where complaints go."))


@bp.context_processor
def _complaint_helpers():
    # The settings page's card: asked only when that card is shown.
    return {"complaint_head_candidates": lambda: complaints.head_candidates(db.session)}
