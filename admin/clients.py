"""Who a visitor is: the desk resolves identity flags from check-in and edits client records (audited)."""

from __future__ import annotations

from flask import redirect, url_for
from htmx_flask import request

from lobby.database import unit_of_work
from lobby.domain import checkin, clients, identity, lookups
from lobby.domain.errors import Conflict, DomainError
from lobby.domain.text import parse_id
from lobby.extensions import db
from lobby.forms import VisitorForm
from lobby.messages import message_for
from lobby.models import PartnerStore, Service, Staff

from . import bp
from .auth import DESK, roles_required, staff_actor
from .forms import CareForm
from .routes import render_visit_detail


@bp.post("/visits/<public_id>/identity", endpoint="resolve_identity")
@roles_required(*DESK)
def resolve_identity(public_id: str):
    """Same person or not, update the file or keep it: a person decides, the trail records it."""
    try:
        with unit_of_work(db.session):
            visit = lookups.get_visit(db.session, public_id, lock=True)
            identity.resolve(db.session, visit, request.form.get("decision", ""), actor=staff_actor())
    except DomainError as err:
        if err.status == 404:
            raise
        return render_visit_detail(public_id, message=message_for(err.code, **err.params), status=err.status)
    return redirect(url_for("admin.visit_detail", public_id=public_id))


@bp.post("/visits/<public_id>/client", endpoint="edit_client")
@roles_required(*DESK)
def edit_client(public_id: str):
    """The desk corrects the client's record of the visitor in front of them."""
    typed = VisitorForm(full=False)
    if not typed.validate():
        return render_visit_detail(public_id, client_form=request.form, status=422, client_errors=typed.field_errors())
    try:
        with unit_of_work(db.session):
            visit = lookups.get_visit(db.session, public_id)
            if visit.client is None:
                raise Conflict("identity_candidate_gone")
            clients.update_client(db.session, visit.client, typed.details(), actor=staff_actor())
    except DomainError as err:
        if err.status == 404:
            raise
        return render_visit_detail(public_id, message=message_for(err.code, **err.params), status=err.status)
    return render_visit_detail(public_id, message=message_for("client_saved"), message_kind="ok")



@bp.post("/visits/<public_id>/care", endpoint="edit_care")
@roles_required(*DESK)
def edit_care(public_id: str):
    """Who looks after the client (own consultant, surgeon, surgery date, partner store), with a reason."""
    typed = CareForm()
    if not typed.validate():
        return render_visit_detail(public_id, care_form=request.form, status=422, care_errors=typed.field_errors())
    try:
        with unit_of_work(db.session):
            visit = lookups.get_visit(db.session, public_id)
            if visit.client is None:
                raise Conflict("identity_candidate_gone")
            changes = {
                "consultant": db.session.get(Staff, typed.consultant.data) if typed.consultant.data else None,
                "surgeon": db.session.get(Staff, typed.surgeon.data) if typed.surgeon.data else None,
                "surgery_date": typed.surgery_date.data,
                "partner": db.session.get(PartnerStore, typed.partner.data) if typed.partner.data else None,
            }
            clients.update_care(db.session, visit.client, changes, reason=typed.reason.data, actor=staff_actor())
    except DomainError as err:
        if err.status == 404:
            raise
        return render_visit_detail(public_id, care_form=request.form, status=err.status,
                                   care_errors={err.field or "reason": message_for(err.code, **err.params)})
    return render_visit_detail(public_id, message=message_for("care_saved"), message_kind="ok")


@bp.post("/visits/<public_id>/walk-in", endpoint="become_walk_in")
@roles_required(*DESK)
def become_walk_in(public_id: str):
    """A browsing visitor wants a consultation after all: triaged now, like a walk-in."""
    from .routes import _after_action

    service_id = parse_id(request.form.get("service"))
    try:
        with unit_of_work(db.session):
            visit = lookups.get_visit(db.session, public_id, lock=True)
            service = db.session.get(Service, service_id) if service_id else None
            checkin.become_walk_in(db.session, visit, service=service, actor=staff_actor())
    except DomainError as err:
        return _after_action(err)
    return _after_action()
