"""Registering a visitor at the desk, for those who won't use the kiosk: the kiosk's checks,
the questionnaire left for later."""

from __future__ import annotations

import secrets

from flask import render_template
from flask_login import current_user
from htmx_flask import request

from lobby.domain import checkin, complaints, registration
from lobby.domain.errors import DomainError
from lobby.domain.settings import get_settings
from lobby.extensions import db
from lobby.forms import VisitorForm
from lobby.messages import message_for
from lobby.models import VisitKind

from . import bp
from .auth import DESK, roles_required, staff_actor
from .complaints import choices as complaint_choices
from .complaints import complaint_fields, open_for


def _render(status=200, **extra):
    # A key per form shown: a re-sent form (double click, flaky Wi-Fi) returns the same ticket.
    context = {"settings": get_settings(db.session), "me": current_user, "is_desk": True, "form": {},
               "form_key": secrets.token_urlsafe(16),
               "errors": {}, "kinds": list(checkin.REGISTRATION_KINDS), **registration.form_choices(db.session),
               **complaint_choices(), **extra}
    return render_template("admin/register.html", **context), status


@bp.get("/register", endpoint="register")
@roles_required(*DESK)
def register():
    return _render()


@bp.post("/register", endpoint="register_visitor")
@roles_required(*DESK)
def register_visitor():
    form = request.form
    try:
        kind = checkin.registration_kind(form.get("kind", "walk-in"))
    except DomainError:
        return _render(422, form=form, errors={"kind": message_for("choice_invalid")})
    key = (form.get("key") or "")[:80] or None
    typed = VisitorForm(full=kind == VisitKind.WALK_IN)
    errors = {} if typed.validate() else typed.field_errors()
    # A complaint (投诉): what happened is written down as it is registered; the record opens with the ticket.
    complaint = complaint_fields(form, errors) if kind == VisitKind.COMPLAINT else None
    if errors:
        return _render(422, form=form, errors=errors)

    def make_visit():
        visit = checkin.check_in_visitor(
            db.session, typed.details(), kind=kind, public_tablet=False, idempotency_key=key, actor=staff_actor(),
            second_visit_reason=form.get("second_visit_reason"),
            # Someone already holding a ticket may still complain: a complaint is no second place in the queue.
            one_per_day=kind != VisitKind.COMPLAINT)
        if complaint is not None:
            line_id = complaint["line_id"] or (visit.service.line_id if visit.service else None)
            open_for({**complaint, "line_id": line_id}, visit=visit)
        return visit

    try:
        visit = checkin.check_in_once(db.session, key, make_visit)
    except checkin.AlreadyHere as here:
        # Their ticket, not a second one at the back of the queue; the desk may still insist, with a reason.
        return _render(409, form=form, already=here.visit)
    except DomainError as err:
        return _render(err.status, form=form, errors={err.field or "name": message_for(err.code, **err.params)})
    return _render(registered=visit, complaint=complaints.for_visit(db.session, visit) if complaint else None)
