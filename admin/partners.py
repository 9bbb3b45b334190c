"""报备 at the desk: partner stores' clients registered ahead (by the store's integration or by the
desk on the store's behalf), and the one-click verification (核定) of the store's class at check-in."""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user
from htmx_flask import request
from sqlalchemy import select

from lobby.database import unit_of_work
from lobby.domain import lookups, partners
from lobby.domain.errors import DomainError, ValidationError
from lobby.domain.settings import clinic_day, get_settings
from lobby.domain.text import parse_day, parse_id
from lobby.extensions import db
from lobby.messages import message_for
from lobby.models import PartnerRegistration, PartnerStore
from lobby.pages import page_or_fragment

from . import bp
from .auth import DESK, roles_required, staff_actor


def page_context(**extra) -> dict:
    today = clinic_day(db.session)
    return {"registrations": partners.registrations_from(db.session, today), "today": today,
            "stores": db.session.scalars(select(PartnerStore).where(PartnerStore.active)
                                         .order_by(PartnerStore.name)).all(),
            "settings": get_settings(db.session), "me": current_user, "is_desk": True,
            "form": {}, "errors": {}, "flash": None, "flash_kind": "ok", **extra}


def _page(status: int = 200, **extra):
    return page_or_fragment("admin/partners.html", "admin/_partners.html", status=status, **page_context(**extra))


@bp.get("/partners", endpoint="partner_registrations")
@roles_required(*DESK)
def partner_registrations():
    return _page()


@bp.post("/partners", endpoint="register_partner_client")
@roles_required(*DESK)
def register_partner_client():
    """The desk registers a client on a store's behalf (the store phoned or sent a message)."""
    form = request.form
    raw_day = (form.get("expected_day") or "").strip()
    try:
        with unit_of_work(db.session):
            expected = parse_day(raw_day) if raw_day else None
            if raw_day and expected is None:
                raise ValidationError("date_invalid", field="expected_day")
            store_id = parse_id(form.get("partner"))
            store = db.session.get(PartnerStore, store_id) if store_id else None
            actor = staff_actor()
            registration, _created = partners.register(
                db.session, partner=store if store is not None and store.active else None, name=form.get("name"),
                phone=form.get("phone"), expected_day=expected, note=form.get("note"),
                registered_by=current_user.display_name, actor=actor)
            name, store_name = registration.client.name, registration.partner.name
    except DomainError as err:
        return _page(status=err.status, form=form, errors={err.field or "form": message_for(
            err.code, field=err.field, **err.params)})
    return _page(flash=_("%(name)s is registered for %(store)s.", name=name, store=store_name))


@bp.post("/visits/<public_id>/verify-partner", endpoint="verify_partner")
@roles_required(*DESK)
def verify_partner(public_id: str):
    """核定 from the waiting list: the store's class confirmed; an A-class client goes to its consultant."""
    from .routes import _after_action

    try:
        with unit_of_work(db.session):
            visit = lookups.get_visit(db.session, public_id, lock=True)
            registration = db.session.scalars(select(PartnerRegistration)
                                              .where(PartnerRegistration.visit_id == visit.id)).first()
            if registration is None:
                abort(404)
            partners.verify(db.session, registration, actor=staff_actor())
            store = registration.partner
            where = (visit.consultant.display_name if store.a_class and visit.consultant
                     else _("by rotation"))
    except DomainError as err:
        return _after_action(err)
    return _after_action(done=_("%(ticket)s: %(store)s verified · %(where)s", ticket=visit.ticket,
                                store=store.name, where=where))
