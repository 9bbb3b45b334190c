"""Settings → Webhooks (admins): the endpoints the clinic's CRM or SMS gateway listens on, and the
delivery log. The sending itself is lobby/webhook_sender.py."""

from __future__ import annotations

from flask import abort
from flask_babel import lazy_gettext as _l
from htmx_flask import request
from sqlalchemy import select
from wtforms import SelectMultipleField, StringField

from lobby.database import unit_of_work
from lobby.domain import outbox, webhooks
from lobby.domain.text import parse_id
from lobby.extensions import db
from lobby.forms import Form, domain, refuse
from lobby.models import Role, WebhookDelivery, WebhookEndpoint

from . import bp
from .auth import roles_required, staff_actor
from .forms import Flag
from .settings import _page

# What each event means, for the checkboxes (an event without a label shows its name alone).
EVENT_LABELS = {
    "visit.finished": _l("Visit finished"),
    "visit.outcome": _l("Consultation outcome recorded"),
    "appointment.no_show": _l("Booked client did not come"),
    "complaint.opened": _l("Complaint opened"),
    "complaint.closed": _l("Complaint closed"),
    webhooks.TEST_EVENT: _l("Test event"),
}
DONE = {
    "added": _l("Endpoint added. Copy its signing secret into the receiving system."),
    "on": _l("The endpoint is on again: what waited is being sent."),
    "off": _l("The endpoint is off: nothing is sent there until it is turned on."),
    "deleted": _l("Endpoint deleted, with its deliveries."),
    "test": _l("A test event is on its way."),
    "retry": _l("The delivery is being sent again."),
}


class WebhookForm(Form):
    url = StringField(validators=[domain(webhooks.clean_url)])
    events = SelectMultipleField(validate_choice=False)
    personal_data = Flag()

    @staticmethod
    def validate_events(form, field):
        chosen = [e for e in field.data or [] if e]
        if any(e not in webhooks.EVENTS for e in chosen):
            refuse("choice_invalid")
        field.data = chosen


def webhook_context() -> dict:
    """What the Webhooks section of the settings page shows."""
    return {"endpoints": webhooks.endpoints(db.session), "deliveries": webhooks.latest_deliveries(db.session),
            "events": webhooks.EVENTS, "event_labels": EVENT_LABELS, "delivery_state": outbox.state,
            "host_of": webhooks.host_of, "added": None}


def _endpoint(endpoint_id: str) -> WebhookEndpoint:
    found = db.session.get(WebhookEndpoint, parse_id(endpoint_id)) if parse_id(endpoint_id) else None
    if found is None:
        abort(404)
    return found


def _done(what: str, **extra):
    return _page("webhooks", message=str(DONE[what]), **extra)


@bp.post("/settings/webhooks/endpoints", endpoint="add_webhook")
@roles_required(Role.ADMIN)
def add_webhook():
    checked = WebhookForm()
    if not checked.validate():
        return _page("webhooks", 422, form=request.form, errors=checked.field_errors())
    with unit_of_work(db.session):
        endpoint = webhooks.add_endpoint(db.session, checked.url.data, checked.events.data,
                                         checked.personal_data.data, actor=staff_actor())
    return _done("added", added=endpoint.id)


@bp.post("/settings/webhooks/<endpoint_id>/active", endpoint="switch_webhook")
@roles_required(Role.ADMIN)
def switch_webhook(endpoint_id: str):
    active = request.form.get("active") == "1"
    with unit_of_work(db.session):
        webhooks.set_active(db.session, _endpoint(endpoint_id), active, actor=staff_actor())
    return _done("on" if active else "off")


@bp.post("/settings/webhooks/<endpoint_id>/delete", endpoint="delete_webhook")
@roles_required(Role.ADMIN)
def delete_webhook(endpoint_id: str):
    with unit_of_work(db.session):
        webhooks.delete_endpoint(db.session, _endpoint(endpoint_id), actor=staff_actor())
    return _done("deleted")


@bp.post("/settings/webhooks/<endpoint_id>/test", endpoint="test_webhook")
@roles_required(Role.ADMIN)
def test_webhook(endpoint_id: str):
    with unit_of_work(db.session):
        endpoint = _endpoint(endpoint_id)
        if not endpoint.active:
            abort(409)  # the button is shown for endpoints that are on
        webhooks.queue_test(db.session, endpoint, actor=staff_actor())
    return _done("test")


@bp.post("/settings/webhooks/deliveries/<delivery_id>/retry", endpoint="retry_webhook")
@roles_required(Role.ADMIN)
def retry_webhook(delivery_id: str):
    with unit_of_work(db.session):
        delivery = db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.delivery_id == delivery_id)) \
            if len(delivery_id) <= 24 else None
        if delivery is None:
            abort(404)
        outbox.retry_now(db.session, delivery, actor=staff_actor())
    return _done("retry")
