"""Registering a visitor at the kiosk or the desk: every field checked, every error at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import PartnerStore, Role, Service, Staff
from .errors import ValidationError
from .identity import TypedIdentity
from .phone import normalise_phone
from .text import clean_name, parse_id

GENDERS = ("female", "male", "other")
CHANNELS = ("online", "friend", "old-client", "partner", "ads", "walk-by", "other")


class FormInvalid(ValidationError):
    """Several fields are wrong; `errors` maps each field to its error code."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("form_invalid")
        self.errors = errors


@dataclass(frozen=True)
class VisitorDetails(TypedIdentity):
    """Who the visitor says they are, and what they came for (a treatment, a consultant asked for)."""

    service_id: int | None = None
    requested_id: int | None = None


def _id_of(session: Session, model, raw, errors: dict, field: str, code: str, **where):
    if raw in (None, ""):
        return None
    wanted = parse_id(raw)
    if wanted is None:
        errors[field] = code
        return None
    found = session.scalars(select(model.id).where(model.id == wanted, *[getattr(model, k) == v for k, v in
                                                                        where.items()])).first()
    if found is None:
        errors[field] = code
    return found


def clean_details(session: Session, form: Mapping, *, full: bool = True, today: dt.date | None = None) -> VisitorDetails:
    """Check a registration form; `full` asks for the walk-in's whole profile, else name and phone."""
    errors: dict[str, str] = {}
    name = phone = None
    try:
        name = clean_name(form.get("name"))
    except ValidationError as err:
        errors["name"] = err.code
    try:
        phone = normalise_phone(form.get("phone"))
    except ValidationError as err:
        errors["phone"] = err.code
    gender = form.get("gender") or None
    if gender is not None and gender not in GENDERS:
        errors["gender"] = "choice_invalid"
    birth_year = None
    raw_year = (form.get("birth_year") or "").strip()
    if raw_year:
        this_year = (today or dt.date.today()).year
        year = parse_id(raw_year)
        if year is None or not 1900 <= year <= this_year:
            errors["birth_year"] = "birth_year_invalid"
        else:
            birth_year = year
    elif full:
        errors["birth_year"] = "birth_year_required"
    if full and gender is None:
        errors["gender"] = "choice_required"
    channel = form.get("channel") or None
    if channel is not None and channel not in CHANNELS:
        errors["channel"] = "choice_invalid"
    partner_id = _id_of(session, PartnerStore, form.get("partner"), errors, "partner", "choice_invalid", active=True)
    service_id = _id_of(session, Service, form.get("service"), errors, "service", "choice_invalid", active=True)
    if full and service_id is None and "service" not in errors:
        errors["service"] = "service_required"
    requested_id = _id_of(session, Staff, form.get("consultant"), errors, "consultant", "choice_invalid",
                          active=True, role=Role.CONSULTANT)
    if errors:
        raise FormInvalid(errors)
    return VisitorDetails(name, phone, gender, birth_year, channel, partner_id, service_id, requested_id)


def clean_returning(session: Session, form: Mapping, *, today: dt.date) -> VisitorDetails:
    """A returning or post-op visitor on the tablet: name, mobile and year of birth (the second factor)."""
    errors: dict[str, str] = {}
    details = None
    try:
        details = clean_details(session, form, full=False, today=today)
    except FormInvalid as err:
        errors.update(err.errors)
    if not str(form.get("birth_year") or "").strip():
        errors["birth_year"] = "birth_year_required"
    if errors:
        raise FormInvalid(errors)
    return details


def form_choices(session: Session) -> dict:
    """What a registration form offers: treatments by line, consultants, partner stores."""
    from ..models import Line

    lines = session.scalars(select(Line).where(Line.active).order_by(Line.position, Line.id)).all()
    return {
        "lines": [(line, [s for s in line.services if s.active]) for line in lines if not line.post_op],
        "consultants": session.scalars(select(Staff).where(Staff.active, Staff.role == Role.CONSULTANT)
                                       .order_by(Staff.rotation_order)).all(),
        "partners": session.scalars(select(PartnerStore).where(PartnerStore.active)
                                    .order_by(PartnerStore.name)).all(),
        "genders": GENDERS,
        "channels": CHANNELS,
    }
