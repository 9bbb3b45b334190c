"""Registering a visitor at the kiosk or the desk: every field checked, every error at once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import PartnerStore, Role, Staff
from .identity import TypedIdentity

GENDERS = ("female", "male", "other")
CHANNELS = ("online", "friend", "old-client", "partner", "ads", "walk-by", "other")


@dataclass(frozen=True)
class VisitorDetails(TypedIdentity):
    """Who the visitor says they are, and what they came for (a treatment, a consultant asked for)."""

    service_id: int | None = None
    requested_id: int | None = None
    # Post-op visits named by staff or an integration: the operating surgeon and the surgery's day.
    surgeon_id: int | None = None
    surgery_date: dt.date | None = None


def form_choices(session: Session) -> dict:
    """What a registration form offers: treatments by line, consultants, partner stores."""
    from ..models import Line

    lines = session.scalars(select(Line).where(Line.active).order_by(Line.position, Line.id)).all()
    return {
        "lines": [(line, [s for s in line.services if s.active]) for line in lines if not line.post_op],
        "consultants": session.scalars(select(Staff).where(Staff.active, Staff.role == Role.CONSULTANT)
                                       .order_by(Staff.rotation_order)).all(),
        "doctors": session.scalars(select(Staff).where(Staff.active, Staff.role == Role.DOCTOR)
                                   .order_by(Staff.display_name)).all(),
        "partners": session.scalars(select(PartnerStore).where(PartnerStore.active)
                                    .order_by(PartnerStore.name)).all(),
        "genders": GENDERS,
        "channels": CHANNELS,
    }
