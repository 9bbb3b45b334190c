"""Domain events: recorded during a transaction, published only after it commits.

A rolled-back change publishes nothing, so no screen ever shows a ticket that
does not exist. Each subscriber gets the events of one commit together, after
the transaction has ended; work that needs the database opens a session of
its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_PENDING = "lobby_pending_events"
_COMMITTED = "lobby_committed_events"
Subscriber = Callable[[list["DomainEvent"]], None]
_subscribers: list[Subscriber] = []


# Not a change: every screen is to get the current state again (the message queue came back).
REPUBLISHED = "queue.republished"


@dataclass(frozen=True)
class DomainEvent:
    name: str
    data: dict = field(default_factory=dict)


def record(session: Session, name: str, **data) -> DomainEvent:
    """Queue an event on the session; it is published when the session commits."""
    evt = DomainEvent(name, data)
    session.info.setdefault(_PENDING, []).append(evt)
    return evt


def has_pending(session: Session) -> bool:
    """Whether the session's transaction has recorded events (it changes what screens show)."""
    return bool(session.info.get(_PENDING))


def committed(session: Session) -> list[DomainEvent]:
    """The events of the transaction just committed (from after_commit until they are published)."""
    return list(session.info.get(_COMMITTED) or [])


def subscribe(fn: Subscriber) -> Subscriber:
    if fn not in _subscribers:
        _subscribers.append(fn)
    return fn


def unsubscribe(fn: Subscriber) -> None:
    if fn in _subscribers:
        _subscribers.remove(fn)


# A session marked so (a replay on a simulated clock, in a database of its own) publishes nothing.
PRIVATE = "lobby_private_session"


@event.listens_for(Session, "after_commit")
def _keep_committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    if not session.info.get(PRIVATE):
        session.info[_COMMITTED] = pending


@event.listens_for(Session, "after_transaction_end")
def _publish_committed(session: Session, transaction) -> None:
    # Publish once the transaction has ended and its connection is back in the
    # pool: a subscriber that reads the database must not wait for a second
    # connection while holding the first.
    if transaction.parent is not None:
        return
    committed = session.info.pop(_COMMITTED, None)
    if not committed:
        return
    for fn in list(_subscribers):
        try:
            fn(list(committed))
        except Exception:  # a broken screen must never undo a committed check-in
            log.exception("subscriber %r failed on %s", fn, [evt.name for evt in committed])


@event.listens_for(Session, "after_rollback")
def _discard_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
