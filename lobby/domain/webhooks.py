"""Outbound webhooks for the clinic's CRM or SMS gateway: what happened, written to an outbox in the
same transaction as the change itself, and the endpoints an admin configures.

A rolled-back change leaves no outbox row, so nothing is ever sent for it; a committed one is sent
after the commit by the sender (lobby/webhook_sender.py, with domain/outbox.py), retried with
back-off until delivered, and survives a restart because the outbox is a table. Personal data (the
client's name and phone) travels only to endpoints whose setting allows it.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..models import Visit, WebhookDelivery, WebhookEndpoint
from . import clock
from .audit import Actor, audit
from .errors import ValidationError
from .questionnaire import latest_contact_consents

# What a clinic's systems may subscribe to.
EVENTS = (
    "visit.finished",
    "visit.outcome",
    "appointment.no_show",
    "complaint.opened",
    "complaint.closed",
)
# Sent to one endpoint when an admin asks ("send a test event"), whatever it subscribed to.
TEST_EVENT = "test"
# What only an endpoint allowed personal data receives (and what is dropped once delivered).
PERSONAL_KEYS = ("name", "phone")
# Set on a session that queued a delivery: the sender is woken right after its commit.
QUEUED = "lobby_webhooks_queued"
_URL_TEXT = re.compile(r"[\x21-\x7e]{1,500}")


def emit(session: Session, event: str, data: dict, *, personal: dict | None = None,
         now: dt.datetime | None = None) -> int:
    """Queue `event` for every active endpoint that wants it; `personal` (name, phone) is added
    only where the endpoint's setting allows. Returns how many deliveries were queued."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event}")
    now = now or clock.utcnow()
    queued = 0
    for endpoint in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active)):
        if endpoint.events and event not in endpoint.events:
            continue
        body = dict(data)
        if personal and endpoint.personal_data:
            body.update(personal)
        _queue(session, endpoint, event, body, now)
        queued += 1
    return queued


def _queue(session: Session, endpoint: WebhookEndpoint, event: str, data: dict,
           now: dt.datetime) -> WebhookDelivery:
    delivery = WebhookDelivery(endpoint_id=endpoint.id, event=event, created_at=now, next_attempt_at=now,
                               payload={"event": event, "occurred_at": now.isoformat(), "data": data})
    session.add(delivery)
    session.info[QUEUED] = True
    return delivery


def visit_data(visit: Visit) -> tuple[dict, dict]:
    """What a visit's events say: (facts anyone may receive, personal data)."""
    client = visit.client
    data = {
        "visit": visit.public_id, "ticket": visit.ticket, "day": visit.clinic_day.isoformat(),
        "kind": visit.kind.value, "line": visit.line.code if visit.line else None,
        "consultant": visit.consultant.username if visit.consultant else None,
        "first_visit": visit.first_visit, "outcome": visit.outcome,
        "services_agreed": visit.services_agreed or [],
        "next_contact": visit.next_contact.isoformat() if visit.next_contact else None,
        "client": client.public_id if client else None,
    }
    personal = {"name": client.name, "phone": client.phone} if client and not client.erased_at else {}
    return data, personal


# --- The endpoints (settings page) ---------------------------------------------------------------

def clean_url(raw: object) -> str:
    """An http(s) address naming a host, printable ASCII, at most 500 characters."""
    text = str(raw or "").strip()
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if not _URL_TEXT.fullmatch(text) or parts is None or parts.scheme not in ("http", "https") \
            or not parts.hostname:
        raise ValidationError("webhook_url_invalid", field="url")
    return text


def host_of(endpoint: WebhookEndpoint) -> str:
    """The endpoint's host (and port), as the log and the audit trail name it: a token in the
    address's path or query stays out of the trail."""
    return urlsplit(endpoint.url).netloc.rpartition("@")[2]


def add_endpoint(session: Session, url: str, events: list[str], personal_data: bool, *,
                 actor: Actor) -> WebhookEndpoint:
    """A new endpoint with a fresh signing secret; `events` empty means every event."""
    url = clean_url(url)
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise ValidationError("choice_invalid", field="events")
    endpoint = WebhookEndpoint(url=url, secret=secrets.token_urlsafe(32), events=list(dict.fromkeys(events)),
                               personal_data=bool(personal_data), active=True, created_at=clock.utcnow())
    session.add(endpoint)
    session.flush()
    audit(session, actor, "webhook_added", host=host_of(endpoint), events=endpoint.events,
          fields=list(PERSONAL_KEYS) if endpoint.personal_data else [])
    return endpoint


def set_active(session: Session, endpoint: WebhookEndpoint, active: bool, *, actor: Actor) -> None:
    """Turn an endpoint off (nothing is sent there; what is queued waits) or on again."""
    if endpoint.active == active:
        return
    endpoint.active = active
    if active:
        session.info[QUEUED] = True  # what waited goes out now
    audit(session, actor, "webhook_turned_on" if active else "webhook_turned_off", host=host_of(endpoint))


def delete_endpoint(session: Session, endpoint: WebhookEndpoint, *, actor: Actor) -> None:
    """Forget an endpoint, with its deliveries (sent or not)."""
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    audit(session, actor, "webhook_deleted", host=host_of(endpoint))
    session.delete(endpoint)


def queue_test(session: Session, endpoint: WebhookEndpoint, *, actor: Actor) -> WebhookDelivery:
    """A `test` event for this endpoint alone, so the receiving system can check its signature."""
    now = clock.utcnow()
    delivery = _queue(session, endpoint, TEST_EVENT, {"message": "Lobby webhook test"}, now)
    audit(session, actor, "webhook_test", host=host_of(endpoint))
    return delivery


def endpoints(session: Session) -> list[WebhookEndpoint]:
    return session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)).all()


def latest_deliveries(session: Session, limit: int = 50) -> list[WebhookDelivery]:
    """The delivery log: the newest first."""
    return session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at.desc(),
                                                            WebhookDelivery.id.desc()).limit(limit)).all()


def if_consented(session: Session, client, personal: dict | None, *, unless_refused: bool = False) -> dict | None:
    """Personal data for a webhook only where the client agreed to be contacted — or, about her own
    booking (`unless_refused`), unless she said no."""
    if not personal or client is None:
        return None
    consent = latest_contact_consents(session, [client.id]).get(client.id)
    return personal if (consent is not False if unless_refused else consent is True) else None
