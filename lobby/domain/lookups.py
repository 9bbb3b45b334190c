"""Finding things by what a caller knows of them: a visit's public id, a ticket number, a
username, a service or line code. Unknown means NotFound (404) or ValidationError (422)."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, joinedload

from ..models import Line, PartnerStore, Role, Service, Staff, Visit, VisitKind
from .errors import NotFound, ValidationError
from .text import parse_day
from .visits import ACTIVE, QUEUED


def get_visit(session: Session, public_id: str, *, lock: bool = False) -> Visit:
    """A visit by its public id; `lock` takes its row lock on PostgreSQL, so that two staff acting
    on one visitor at once are serialised (SQLite's write transactions already are)."""
    query = select(Visit).where(Visit.public_id == public_id)
    if lock:
        query = query.with_for_update(of=Visit)
    visit = session.scalars(query).first()
    if visit is None:
        raise NotFound("visit_not_found")
    return visit


def read_again(session: Session, visit: Visit) -> Visit:
    """A visit just committed, read again with its line and consultant in one statement (an answer
    shows them), rather than once for the visit and once more for each."""
    visit_id = inspect(visit).identity[0]  # not visit.id: that alone would read the expired visit
    return session.scalars(select(Visit).where(Visit.id == visit_id)
                           .options(joinedload(Visit.line), joinedload(Visit.consultant))
                           .execution_options(populate_existing=True)).one()


def find_by_idempotency_key(session: Session, key: str) -> Visit | None:
    return session.scalars(select(Visit).where(Visit.idempotency_key == key)).first()


def queue_of_day(session: Session, day: dt.date) -> list[Visit]:
    """Waiting and called visitors, in order of arrival."""
    return list(
        session.scalars(
            select(Visit)
            .where(Visit.clinic_day == day, Visit.status.in_(QUEUED), Visit.kind != VisitKind.COMPANION)
            .order_by(Visit.checked_in_at, Visit.id)
        )
    )


def find_active_by_ticket(session: Session, ticket: str, day: dt.date) -> Visit | None:
    """Today's visitor still in the building with this ticket number (A007, a007), or None."""
    match = re.fullmatch(r"([A-Z]{1,3})(\d{1,4})", (ticket or "").strip().upper())
    if match is None:
        return None
    return session.scalars(
        select(Visit).join(Line).where(Line.prefix == match.group(1), Visit.number == int(match.group(2)),
                                       Visit.clinic_day == day, Visit.status.in_(ACTIVE))
    ).first()


# Who sees visitors: they may be given, called for, reassigned to or booked with a visitor.
CARE = (Role.CONSULTANT, Role.DOCTOR)


def find_staff(session: Session, username: str | None, field: str = "consultant",
               roles: tuple[Role, ...] = (Role.CONSULTANT,)) -> Staff | None:
    """An active staff member of one of `roles` (a visitor is never given to the front desk)."""
    if not username:
        return None
    staff = session.scalars(select(Staff).where(Staff.username == username, Staff.active,
                                                Staff.role.in_(roles))).first()
    if staff is None:
        raise ValidationError("unknown_consultant", field=field, username=username)
    return staff


def find_service(session: Session, code: str | None, field: str = "service") -> Service | None:
    if not code:
        return None
    service = session.scalars(select(Service).where(Service.code == code, Service.active)).first()
    if service is None:
        raise ValidationError("unknown_service", field=field, code=code)
    return service


def find_line(session: Session, code: str | None, field: str = "line") -> Line | None:
    if not code:
        return None
    line = session.scalars(select(Line).where(Line.code == code, Line.active)).first()
    if line is None:
        raise ValidationError("unknown_line", field=field, code=code)
    return line


def find_doctor(session: Session, username: str | None, field: str = "doctor") -> Staff | None:
    """An active doctor (a surgeon is a doctor), or ValidationError('unknown_doctor')."""
    try:
        return find_staff(session, username, field=field, roles=(Role.DOCTOR,))
    except ValidationError:
        raise ValidationError("unknown_doctor", field=field, username=username) from None


def find_partner(session: Session, code: str | None, field: str = "partner") -> PartnerStore | None:
    """An active partner store by its code (or, for stores without one, its name)."""
    if not code:
        return None
    partner = session.scalars(select(PartnerStore).where(
        PartnerStore.active, (PartnerStore.code == code) | (PartnerStore.name == code))).first()
    if partner is None:
        raise ValidationError("unknown_partner", field=field, code=code)
    return partner


def surgery_day(raw: object, today: dt.date, field: str = "surgery_date") -> dt.date | None:
    """A surgery's day as YYYY-MM-DD, not in the future; None when not given."""
    if raw is None or raw == "":
        return None
    day = parse_day(raw)
    if day is None:
        raise ValidationError("date_invalid", field=field)
    if day > today:
        raise ValidationError("surgery_date_future", field=field)
    return day
