"""The webhook outbox's bookkeeping: which deliveries are due, claiming one so that only one sender
(of any number of server processes) works on it, recording each attempt with its back-off, and what
the delivery log says of each delivery.

Claiming is a compare-and-set: an UPDATE that sets `claimed_until` only where the delivery is still
due and unclaimed. When two processes race for one row, one UPDATE changes it; the other (PostgreSQL
re-checks the condition once the first commits; SQLite has one writer at a time) finds it claimed
and changes nothing. A sender that dies mid-send leaves a claim that lapses after CLAIM_SECONDS, and
the delivery is sent again: delivery is at least once, receivers drop repeats by X-Lobby-Delivery.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from ..models import WebhookDelivery, WebhookEndpoint
from . import clock
from .audit import Actor, audit
from .webhooks import PERSONAL_KEYS, QUEUED, host_of

# Back-off after the n-th failed attempt: 30 s × 2^(n-1), at most an hour; the 16th failure gives up
# (about 9 hours after the first attempt). An admin may "retry now" from the settings page.
BACKOFF_FIRST_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
MAX_ATTEMPTS = 16
# How long a claim holds: well past one POST's timeout (webhook_sender.TIMEOUT_SECONDS).
CLAIM_SECONDS = 15

DELIVERED, PENDING, RETRYING, FAILED, PAUSED = "delivered", "queued", "retrying", "failed", "paused"


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery, with what the sender needs to POST it."""

    id: int
    endpoint_id: int
    delivery_id: str
    event: str
    payload: dict
    url: str
    secret: str
    attempts: int
    claimed_until: dt.datetime


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt: 30 s, 1 min, 2 min, ... at most an hour."""
    seconds = BACKOFF_FIRST_SECONDS * 2 ** min(max(attempts, 1) - 1, 12)
    return dt.timedelta(seconds=min(seconds, BACKOFF_CAP_SECONDS))


def _due(now: dt.datetime):
    d = WebhookDelivery
    return and_(d.delivered_at.is_(None), d.attempts < MAX_ATTEMPTS, d.next_attempt_at <= now,
                or_(d.claimed_until.is_(None), d.claimed_until < now),
                d.endpoint_id.in_(select(WebhookEndpoint.id).where(WebhookEndpoint.active)))


def due_ids(session: Session, now: dt.datetime, limit: int = 20, skip_endpoints: frozenset = frozenset()
            ) -> list[int]:
    """Deliveries due at `now`, the longest waiting first (a read: no lock taken), but none for
    `skip_endpoints`."""
    query = select(WebhookDelivery.id).where(_due(now))
    if skip_endpoints:
        query = query.where(WebhookDelivery.endpoint_id.not_in(skip_endpoints))
    return session.scalars(query.order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)).all()


def claim_next(session: Session, now: dt.datetime, candidates: list[int]) -> Outgoing | None:
    """Claim the first of `candidates` still due and unclaimed (the caller commits at once)."""
    until = now + dt.timedelta(seconds=CLAIM_SECONDS)
    for delivery_id in candidates:
        claimed = session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id, _due(now))
                                  .values(claimed_until=until).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue  # another sender has it, or it changed since it was read
        row = session.execute(select(WebhookDelivery, WebhookEndpoint)
                              .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                              .where(WebhookDelivery.id == delivery_id)).one()
        delivery, endpoint = row
        return Outgoing(delivery.id, endpoint.id, delivery.delivery_id, delivery.event, dict(delivery.payload),
                        endpoint.url, endpoint.secret, delivery.attempts, until)
    return None


def record_attempt(session: Session, sent: Outgoing, now: dt.datetime, status: int | None,
                   error: str | None) -> str:
    """Keep how an attempt went: a 2xx is delivered (and the payload loses its personal data, no
    longer needed); anything else is retried after the back-off, or has failed after MAX_ATTEMPTS.
    Written only while this sender's claim is the row's (else another sender has taken it over)."""
    attempts = sent.attempts + 1
    values = {"attempts": attempts, "last_status": status, "claimed_until": None,
              "last_error": (error or "")[:200] or None}
    if status is not None and 200 <= status < 300:
        data = {k: v for k, v in (sent.payload.get("data") or {}).items() if k not in PERSONAL_KEYS}
        values.update(delivered_at=now, last_error=None, payload={**sent.payload, "data": data})
        outcome = DELIVERED
    else:
        values["next_attempt_at"] = now + backoff(attempts)
        outcome = FAILED if attempts >= MAX_ATTEMPTS else RETRYING
    session.execute(update(WebhookDelivery).where(WebhookDelivery.id == sent.id,
                                                  WebhookDelivery.claimed_until == sent.claimed_until)
                    .values(**values).execution_options(synchronize_session=False))
    return outcome


def state(delivery: WebhookDelivery) -> str:
    """What the delivery log says: delivered, queued (not tried yet), retrying, failed, or paused
    (its endpoint is turned off)."""
    if delivery.delivered_at is not None:
        return DELIVERED
    if delivery.attempts >= MAX_ATTEMPTS:
        return FAILED
    if not delivery.endpoint.active:
        return PAUSED
    return RETRYING if delivery.attempts else PENDING


def retry_now(session: Session, delivery: WebhookDelivery, *, actor: Actor) -> None:
    """Send an undelivered delivery at once; one that had given up starts its retries over."""
    if delivery.delivered_at is not None:
        return
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.attempts = 0
    delivery.next_attempt_at = clock.utcnow()
    delivery.claimed_until = None
    session.info[QUEUED] = True
    audit(session, actor, "webhook_retried", host=host_of(delivery.endpoint), event=delivery.event)
