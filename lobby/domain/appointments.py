"""Appointments: booked here or imported from a booking system (idempotent on external_id)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..models import Appointment, AppointmentStatus, Client, Visit
from . import clock, events, identity
from .audit import Actor, audit
from .clients import update_care
from .errors import Conflict, DomainError, NotFound, ValidationError
from .lookups import (
    CARE,
    find_doctor,
    find_partner,
    find_service,
    find_staff,
    surgery_day,
)
from .phone import normalise_phone
from .settings import clinic_day, clinic_zone, get_settings
from .text import clean_name, clean_text, parse_day

CODE_DIGITS = 6


def parse_start(value, session: Session) -> dt.datetime:
    """ISO 8601; a time without offset is the clinic's local time."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("starts_at_invalid", field="starts_at")
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if parse_day(parsed.date().isoformat()) is None:
            raise ValueError("out of range")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=clinic_zone(session))
        return parsed.astimezone(dt.timezone.utc)
    except (ValueError, OverflowError):
        raise ValidationError("starts_at_invalid", field="starts_at") from None


def _new_code(session: Session) -> str:
    """A short numeric code, easy to type on the kiosk's keypad."""
    while True:
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        if session.scalar(select(Appointment.id).where(Appointment.code == code)) is None:
            return code


def client_for(session: Session, name: str, phone: str) -> Client:
    """The client a booking is for: the one on file with this phone and name, else a new one.

    A booking never renames a client on file: another name on a known phone is another person."""
    return identity.client_for(session, identity.identify(
        session, identity.TypedIdentity(name=name, phone=phone), second_factor=False))


def book(
    session: Session,
    *,
    name: str,
    phone: str,
    starts_at,
    service: str,
    consultant: str | None = None,
    surgeon: str | None = None,
    surgery_date: str | None = None,
    partner: str | None = None,
    external_id: str | None = None,
    note: str | None = None,
    existing: Appointment | None = None,
    actor: Actor,
    now: dt.datetime | None = None,
) -> tuple[Appointment, bool]:
    """Create an appointment, or update `existing` or the one with the same external_id.

    Returns (the appointment, whether it was created). `surgeon`, `surgery_date` and `partner`
    (a store's code) are the client's care record, kept on the client when given.
    """
    now = now or clock.utcnow()
    name = clean_name(name)
    phone = normalise_phone(phone)
    start = parse_start(starts_at, session)
    if start < now:
        raise ValidationError("starts_at_past", field="starts_at")
    the_service = find_service(session, service)
    if the_service is None:
        raise ValidationError("service_required", field="service")
    staff = find_staff(session, consultant, roles=CARE)  # a booking may name the consultant or the doctor
    if external_id is not None and (not isinstance(external_id, str) or len(external_id) > 120):
        raise ValidationError("external_id_invalid", field="external_id")
    care = {}
    if surgeon:
        care["surgeon"] = find_doctor(session, surgeon, field="surgeon")
    if surgery_date:
        care["surgery_date"] = surgery_day(surgery_date, clinic_day(session, now))
    if partner:
        care["partner"] = find_partner(session, partner)

    appointment = existing
    if appointment is None and external_id:
        appointment = session.scalars(select(Appointment).where(Appointment.external_id == external_id)).first()
    created = appointment is None
    # A booking missed (no-show) may be booked again for another time: a rescheduling.
    if not created and appointment.status not in (AppointmentStatus.BOOKED, AppointmentStatus.NO_SHOW):
        raise Conflict("appointment_not_editable", status=appointment.status.value)
    client = client_for(session, name, phone)
    update_care(session, client, care, reason="booking", actor=actor, require_reason=False)
    if created:
        appointment = Appointment(code=_new_code(session), external_id=external_id or None,
                                  status=AppointmentStatus.BOOKED, created_at=now)
    appointment.client = client
    appointment.status = AppointmentStatus.BOOKED
    appointment.starts_at = start
    appointment.service = the_service
    appointment.staff = staff
    if note is not None:
        appointment.note = clean_text(note, field="note", limit=500)
    appointment.updated_at = now
    session.add(appointment)
    session.flush()
    audit(session, actor, "book" if created else "rebook", None, appointment=appointment.public_id)
    events.record(session, "appointment.changed", appointment=appointment.public_id)
    return appointment, created


def get_appointment(session: Session, public_id: str) -> Appointment:
    appointment = session.scalars(select(Appointment).where(Appointment.public_id == public_id)).first()
    if appointment is None:
        raise NotFound("appointment_not_found")
    return appointment


def cancel(session: Session, appointment: Appointment, *, actor: Actor,
           now: dt.datetime | None = None) -> Appointment:
    if appointment.status == AppointmentStatus.CHECKED_IN:
        raise Conflict("appointment_not_editable", status=appointment.status.value)
    if appointment.status != AppointmentStatus.CANCELLED:
        appointment.status = AppointmentStatus.CANCELLED
        appointment.updated_at = now or clock.utcnow()
        audit(session, actor, "cancel_appointment", None, appointment=appointment.public_id)
        events.record(session, "appointment.changed", appointment=appointment.public_id)
        session.flush()
    return appointment


def matches(appointment: Appointment, term: str) -> bool:
    """The desk's arrival look-up: the booking's code, part of the name, or the phone's last digits."""
    term = term.strip().casefold()
    if not term:
        return True
    client = appointment.client
    if appointment.code == term or (client is not None and term in (client.name or "").casefold()):
        return True
    return term.isdigit() and len(term) >= 3 and client is not None and (client.phone or "").endswith(term)


def on_day(session: Session, day: dt.date) -> list[Appointment]:
    start, end = clock.day_bounds(day, clinic_zone(session))
    return list(
        session.scalars(
            select(Appointment)
            .where(Appointment.starts_at >= start, Appointment.starts_at < end)
            .options(selectinload(Appointment.client), selectinload(Appointment.service),
                     selectinload(Appointment.staff))
            .order_by(Appointment.starts_at, Appointment.id)
        )
    )


def clean_code(code: str | None) -> str:
    """A booking code as typed: six ASCII digits, or ValidationError."""
    code = (code or "").strip()
    if len(code) != CODE_DIGITS or not all("0" <= ch <= "9" for ch in code):
        raise ValidationError("appointment_code_invalid", field="appointment_code")
    return code


def find_by_code(session: Session, code: str, phone: str | None = None) -> Appointment:
    """The appointment with this booking code (and this phone, when given), or NotFound."""
    code = clean_code(code)
    appointment = session.scalars(select(Appointment).where(Appointment.code == code)).first()
    if appointment is None or (phone is not None and appointment.client.phone != normalise_phone(phone)):
        raise NotFound("appointment_not_found")
    return appointment


def check_arrival(session: Session, appointment: Appointment, now: dt.datetime | None = None,
                  at_desk: bool = False) -> None:
    """Refuse cancelled bookings, other days, and arrivals earlier than the clinic allows.

    Late arrivals are still checked in: a clinic sees a visitor who came, even late. The desk,
    with the visitor in front of it, may check in an early arrival (`at_desk`); the tablet may not.
    """
    now = now or clock.utcnow()
    if appointment.status == AppointmentStatus.CANCELLED:
        raise Conflict("appointment_cancelled")
    if appointment.status == AppointmentStatus.CHECKED_IN or session.scalar(
        select(Visit.id).where(Visit.appointment_id == appointment.id)
    ):
        raise Conflict("appointment_already_checked_in")
    tz = clinic_zone(session)
    if clock.local_day(appointment.starts_at, tz) != clock.local_day(now, tz):
        raise Conflict("appointment_other_day", day=clock.local_day(appointment.starts_at, tz).isoformat())
    early = dt.timedelta(minutes=get_settings(session).early_arrival_minutes)
    if now < appointment.starts_at - early and not at_desk:
        raise Conflict("appointment_too_early",
                       time=appointment.starts_at.astimezone(tz).strftime("%H:%M"))



def status_of(appointment: Appointment, now: dt.datetime, late_minutes: int, tz) -> str:
    """booked / late / checked_in / no_show / cancelled, as the desk reads the day."""
    status = appointment.status.value
    if status != "booked":
        return status
    if now > appointment.starts_at + dt.timedelta(minutes=late_minutes):
        day_over = clock.local_day(now, tz) > clock.local_day(appointment.starts_at, tz)
        return "no_show" if day_over else "late"
    return "booked"


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    # (line, field, error code, the error's parameters)
    rejected: list[tuple[int, str, str, dict]] = field(default_factory=list)


def import_csv(session: Session, text: str, *, actor: Actor, now: dt.datetime | None = None) -> ImportReport:
    """Import appointments from another booking system's CSV (UTF-8, a header row).

    Each row is saved whole or not at all (a savepoint per row); the report says
    which rows were rejected and why. external_id makes a second import update
    rather than duplicate.
    """
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [f for f in ("name", "phone", "starts_at", "service") if f not in (reader.fieldnames or [])]
    if missing:
        report.rejected.append((1, missing[0], "csv_header_missing", {}))
        return report
    for line_number, row in enumerate(reader, start=2):
        savepoint = session.begin_nested()
        try:
            _, created = book(session, name=row.get("name") or "", phone=row.get("phone") or "",
                              starts_at=row.get("starts_at") or "", service=(row.get("service") or "").strip(),
                              consultant=(row.get("consultant") or "").strip() or None,
                              surgeon=(row.get("surgeon") or "").strip() or None,
                              surgery_date=(row.get("surgery_date") or "").strip() or None,
                              partner=(row.get("partner") or "").strip() or None,
                              external_id=(row.get("external_id") or "").strip() or None, actor=actor, now=now)
            savepoint.commit()
        except DomainError as err:
            savepoint.rollback()
            report.rejected.append((line_number, err.field or "", err.code, err.params))
            continue
        if created:
            report.imported += 1
        else:
            report.updated += 1
    return report
