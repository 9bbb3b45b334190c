"""Today's appointments at the desk: list, book, edit, cancel, confirmation with QR, CSV import."""

from __future__ import annotations

import datetime as dt

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from htmx_flask import request
from sqlalchemy import select

from lobby.database import unit_of_work
from lobby.domain import appointments as appts
from lobby.domain import checkin, clock
from lobby.domain.errors import DomainError
from lobby.domain.settings import clinic_day, clinic_zone, get_settings
from lobby.domain.text import parse_day
from lobby.extensions import db
from lobby.links import external_url
from lobby.messages import message_for
from lobby.models import Role, Service, Staff
from lobby.pages import page_or_fragment
from lobby.tokens import appointment_token

from . import bp
from .auth import DESK, roles_required, staff_actor
from .forms import BookingForm

MAX_CSV_BYTES = 2_000_000


def _day() -> dt.date:
    return parse_day(request.values.get("date")) or clinic_day(db.session)


def page_context(**extra) -> dict:
    day = _day()
    settings = get_settings(db.session)
    now, tz = clock.utcnow(), clinic_zone(db.session)
    search = (request.values.get("q") or "").strip()[:40]
    rows = [(a, appts.status_of(a, now, settings.late_arrival_minutes, tz)) for a in appts.on_day(db.session, day)
            if appts.matches(a, search)]
    return {
        "day": day, "today": clinic_day(db.session), "rows": rows, "q": search, "settings": settings, "me": current_user, "is_desk": True,
        "services": db.session.scalars(select(Service).where(Service.active).order_by(Service.line_id, Service.id)).all(),
        "consultants": db.session.scalars(select(Staff).where(Staff.active, Staff.role.in_([Role.CONSULTANT, Role.DOCTOR]))
                                          .order_by(Staff.role, Staff.rotation_order)).all(),
        "errors": {}, **extra,
    }


def _edit_form() -> dict:
    """?edit=<id>: the booking form, filled with that appointment."""
    wanted = request.args.get("edit")
    if not wanted:
        return {}
    try:
        booking = appts.get_appointment(db.session, wanted)
    except DomainError:
        return {}
    local = booking.starts_at.astimezone(clinic_zone(db.session))
    return {"id": booking.public_id, "name": booking.client.name or "", "phone": booking.client.phone or "",
            "date": local.date().isoformat(), "time": local.strftime("%H:%M"), "service": str(booking.service_id),
            "consultant": str(booking.staff_id or "")}


def _render(status: int = 200, **extra):
    extra.setdefault("form", _edit_form())
    return page_or_fragment("admin/appointments.html", "admin/_appointments.html", status, **page_context(**extra))


@bp.get("/appointments", endpoint="appointments")
@roles_required(*DESK)
def appointments():
    return _render()


@bp.post("/appointments", endpoint="book")
@roles_required(*DESK)
def book():
    """Book a new appointment, or save changes to one (`id` in the form)."""
    form = request.form
    typed = BookingForm()
    if not typed.validate():
        return _render(422, form=form, errors=typed.field_errors())
    try:
        with unit_of_work(db.session):
            existing = appts.get_appointment(db.session, typed.id.data) if typed.id.data else None
            consultant = db.session.get(Staff, typed.consultant.data) if typed.consultant.data else None
            booking, _created = appts.book(db.session, name=typed.name.data, phone=typed.phone.data,
                       starts_at=dt.datetime.combine(typed.date.data, typed.time.data).isoformat(),
                       service=db.session.get(Service, typed.service.data).code,
                       consultant=consultant.username if consultant else None, existing=existing, actor=staff_actor())
    except DomainError as err:
        return _render(422, form=form, errors={err.field or "name": message_for(err.code, **err.params)})
    # The code and QR code to give the visitor, right where the receptionist is.
    token = appointment_token(booking.public_id)
    return _render(message=message_for("appointment_saved"), saved=booking,
                   saved_qr=url_for("kiosk.appointment_qr", token=token))


@bp.post("/appointments/<public_id>/cancel", endpoint="cancel_appointment")
@roles_required(*DESK)
def cancel_appointment(public_id: str):
    try:
        with unit_of_work(db.session):
            appts.cancel(db.session, appts.get_appointment(db.session, public_id), actor=staff_actor())
    except DomainError as err:
        return _render(err.status, message=message_for(err.code, **err.params), message_kind="error")
    return _render(message=message_for("appointment_cancelled_ok"))


@bp.post("/appointments/<public_id>/check-in", endpoint="check_in_appointment")
@roles_required(*DESK)
def check_in_appointment(public_id: str):
    """A booked visitor at the desk without their QR code: checked in by the receptionist."""
    key = (request.form.get("key") or "")[:80] or None
    try:
        visit = checkin.check_in_once(db.session, key, lambda: checkin.check_in_appointment(
            db.session, appts.get_appointment(db.session, public_id), idempotency_key=key, actor=staff_actor(),
            at_desk=True))
    except DomainError as err:
        return _render(err.status, message=message_for(err.code, **err.params), message_kind="error")
    return _render(message=_("%(name)s is checked in: ticket %(ticket)s.", name=visit.client.name,
                             ticket=visit.ticket))


@bp.get("/appointments/<public_id>", endpoint="appointment_detail")
@roles_required(*DESK)
def appointment_detail(public_id: str):
    """The confirmation to print or copy for the visitor, with the check-in QR code."""
    booking = appts.get_appointment(db.session, public_id)
    token = appointment_token(booking.public_id)
    return render_template("admin/appointment.html", booking=booking, settings=get_settings(db.session),
                           me=current_user, is_desk=True,
                           qr_url=url_for("kiosk.appointment_qr", token=token),
                           checkin_url=external_url("kiosk.appointment", token=token))


@bp.post("/appointments/import", endpoint="import_appointments")
@roles_required(*DESK)
def import_appointments():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _render(422, message=message_for("csv_required"), message_kind="error")
    raw = upload.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:
        return _render(422, message=message_for("csv_too_large"), message_kind="error")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")  # Chinese Excel saves CSV in GBK/GB18030
        except UnicodeDecodeError:
            return _render(422, message=message_for("csv_encoding"), message_kind="error")
    with unit_of_work(db.session):
        # NUL is never part of a name, a number or a code (and PostgreSQL cannot hold it).
        report = appts.import_csv(db.session, text.replace("\x00", ""), actor=staff_actor())
    return _render(report=report)


