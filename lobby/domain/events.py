"""Domain events: recorded during a transaction, published only after it commits.

A rolled-back change publishes nothing, so no screen ever shows a ticket that
does not exist. Subscribers run inside SQLAlchemy's after_commit hook and must
not use that session; work that needs the database opens its own session or
runs in a background task.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_PENDING = "lobby_pending_events"
_subscribers: list[Callable[[DomainEvent], None]] = []


@dataclass(frozen=True)
class DomainEvent:
    name: str
    data: dict = field(default_factory=dict)


def record(session: Session, name: str, **data) -> DomainEvent:
    """Queue an event on the session; it is published when the session commits."""
    evt = DomainEvent(name, data)
    session.info.setdefault(_PENDING, []).append(evt)
    return evt


def subscribe(fn: Callable[[DomainEvent], None]) -> Callable[[DomainEvent], None]:
    if fn not in _subscribers:
        _subscribers.append(fn)
    return fn


def unsubscribe(fn: Callable[[DomainEvent], None]) -> None:
    if fn in _subscribers:
        _subscribers.remove(fn)


@event.listens_for(Session, "after_commit")
def _publish_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    for evt in pending:
        for fn in list(_subscribers):
            try:
                fn(evt)
            except Exception:  # a broken screen must never undo a committed check-in
                log.exception("subscriber %r failed on %s", fn, evt.name)


@event.listens_for(Session, "after_rollback")
def _discard_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
