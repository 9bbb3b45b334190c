"""The clinic's settings pages (admins): clinic, lines, services, staff accounts, partner stores
(webhooks: admin/webhooks.py)."""

from __future__ import annotations

from flask import abort, make_response, render_template
from flask_login import current_user
from htmx_flask import request
from sqlalchemy import select

from kiosk import devices
from lobby.database import unit_of_work
from lobby.domain import settings as clinic_settings
from lobby.domain.audit import audit
from lobby.domain.errors import FormInvalid
from lobby.domain.settings import get_settings
from lobby.domain.text import parse_id
from lobby.extensions import db
from lobby.messages import message_for
from lobby.models import Line, PartnerStore, Role, Service, Staff

from . import bp
from .auth import roles_required, staff_actor
from .forms import SETTINGS_FORMS

SECTIONS = {
    "lines": (Line, clinic_settings.save_line, Line.position),
    "services": (Service, clinic_settings.save_service, Service.line_id),
    "staff": (Staff, clinic_settings.save_staff, Staff.username),
    "partners": (PartnerStore, clinic_settings.save_partner, PartnerStore.name),
}


def _page(section: str, status: int = 200, **extra):
    if section not in ("clinic", "webhooks") and section not in SECTIONS:
        abort(404)
    context = {"section": section, "settings": get_settings(db.session), "me": current_user, "is_desk": True,
               "errors": {}, "form": None, "editing": None, "message": None,
               "lines": db.session.scalars(select(Line).order_by(Line.position)).all(),
               "consultants": db.session.scalars(select(Staff).where(Staff.role == Role.CONSULTANT)
                                                 .order_by(Staff.rotation_order)).all(),
               "roles": [r.value for r in Role], "specialties": clinic_settings.SPECIALTIES,
               "languages": clinic_settings.LANGUAGES, "this_is_a_kiosk": devices.at_a_kiosk()}
    if section in SECTIONS:
        model, _, order = SECTIONS[section]
        context["items"] = db.session.scalars(select(model).order_by(order)).all()
        wanted = request.args.get("edit", "")
        if parse_id(wanted):
            context["editing"] = db.session.get(model, parse_id(wanted))
    if section == "webhooks":
        from .webhooks import webhook_context

        context.update(webhook_context())
    context.update(extra)
    return render_template("admin/settings.html", **context), status


@bp.get("/settings", endpoint="settings")
@roles_required(Role.ADMIN)
def settings_page():
    return _page(request.args.get("section", "clinic"))


@bp.post("/settings/<section>", endpoint="save_settings")
@roles_required(Role.ADMIN)
def save_settings(section: str):
    form = request.form
    if section not in SETTINGS_FORMS:
        abort(404)
    actor = staff_actor()
    model = SECTIONS[section][0] if section in SECTIONS else None
    editing = db.session.get(model, parse_id(form.get("id"))) if model and parse_id(form.get("id")) else None
    checked = SETTINGS_FORMS[section](existing=editing) if section == "staff" else SETTINGS_FORMS[section]()
    errors = {} if checked.validate() else checked.field_errors()
    if not errors:
        try:
            with unit_of_work(db.session):
                if section == "clinic":
                    clinic_settings.update_clinic(db.session, checked.data, actor=actor)
                else:
                    existing = db.session.get(model, editing.id) if editing else None
                    SECTIONS[section][1](db.session, checked.data, actor=actor, existing=existing)
        except FormInvalid as err:
            errors = {f: message_for(c) for f, c in err.errors.items()}
    if errors:
        return _page(section, 422, form=form, editing=editing, errors=errors)
    return _page(section, message=message_for("settings_saved"))


@bp.post("/settings/kiosk/register", endpoint="register_kiosk")
@roles_required(Role.ADMIN)
def register_kiosk():
    """This browser becomes one of the clinic's lobby tablets (kiosk/devices.py)."""
    with unit_of_work(db.session):
        audit(db.session, staff_actor(), "kiosk_registered", None)
    body, status = _page("clinic", message=message_for("kiosk_registered"), this_is_a_kiosk=True)
    return devices.register(make_response(body, status))


@bp.post("/settings/kiosk/sign-out", endpoint="sign_out_kiosks")
@roles_required(Role.ADMIN)
def sign_out_kiosks():
    """Every lobby tablet stops being one (a tablet lost or replaced): they are made again one by one."""
    with unit_of_work(db.session):
        settings = get_settings(db.session)
        settings.kiosk_generation += 1
        audit(db.session, staff_actor(), "kiosks_signed_out", None, generation=settings.kiosk_generation)
    return _page("clinic", message=message_for("kiosks_signed_out"), this_is_a_kiosk=False)
