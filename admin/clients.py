"""Who a visitor is: the desk resolves identity flags from check-in and edits client records (audited)."""

from __future__ import annotations

from flask import redirect, url_for
from htmx_flask import request

from lobby.database import unit_of_work
from lobby.domain import clients, identity, lookups
from lobby.domain.errors import Conflict, DomainError
from lobby.extensions import db
from lobby.forms import VisitorForm
from lobby.messages import message_for

from . import bp
from .auth import DESK, roles_required, staff_actor
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

