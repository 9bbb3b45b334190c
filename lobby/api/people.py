"""The API for who looks after whom: clients' own consultant and surgeon, staff and their duty, the roster."""

from __future__ import annotations

import datetime as dt

from flask import g, jsonify, request

from ..database import unit_of_work
from ..domain import clients, duty, lookups, partners, roster
from ..domain.errors import NotFound, ValidationError
from ..domain.phone import normalise_phone
from ..domain.settings import clinic_day
from ..domain.text import parse_day
from ..extensions import db
from ..models import Client, Staff
from . import bp, schemas


def client_json(client: Client) -> dict:
    return {
        "id": client.public_id,
        "name": client.name,
        "phone": client.phone,
        "consultant": client.consultant.username if client.consultant else None,
        "surgeon": client.surgeon.username if client.surgeon else None,
        "surgery_date": client.surgery_date.isoformat() if client.surgery_date else None,
        "partner": (client.partner.code or client.partner.name) if client.partner else None,
    }


@bp.get("/clients")
def find_clients():
    """The clients with this phone number (a CRM looking someone up)."""
    raw = request.args.get("phone")
    if not raw:
        raise ValidationError("phone_required", field="phone")
    from ..domain.identity import clients_with_phone

    return jsonify([client_json(c) for c in clients_with_phone(db.session, normalise_phone(raw))])


@bp.patch("/clients/<public_id>")
def update_client_care(public_id: str):
    """Own consultant, surgeon, surgery date, partner store: only the fields sent change (null clears);
    a reason is required, and the change is audited."""
    body = schemas.body(schemas.ClientCare)
    sent = body.model_fields_set & set(clients.CARE_FIELDS)
    if not sent:
        raise ValidationError("care_field_required", field="consultant")
    with unit_of_work(db.session):
        client = clients.get_client(db.session, public_id)
        finders = {
            "consultant": lambda v: lookups.find_staff(db.session, v),
            "surgeon": lambda v: lookups.find_doctor(db.session, v, field="surgeon"),
            "surgery_date": lambda v: lookups.surgery_day(v, clinic_day(db.session)),
            "partner": lambda v: lookups.find_partner(db.session, v),
        }
        changes = {name: finders[name](getattr(body, name)) for name in sent}
        clients.update_care(db.session, client, changes, reason=body.reason, actor=g.actor)
    return jsonify(client_json(client))


def staff_json(member: Staff, board: duty.DutyBoard) -> dict:
    state = board.of(member)
    return {"username": member.username, "name": member.display_name, "role": member.role.value,
            "specialties": list(member.specialties or []), "duty": state.status.value,
            "duty_reason": state.reason, "back_at": state.back_at.isoformat() if state.back_at else None,
            "room": member.room}


@bp.get("/staff")
def list_staff():
    """Everyone who sees visitors, with their duty now."""
    board = duty.DutyBoard(db.session)
    return jsonify([staff_json(m, board) for m in board.staff])


def _until(raw) -> dt.datetime | None:
    if raw is None or raw == "":
        return None
    try:
        moment = dt.datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValidationError("until_invalid", field="until")
    return moment.astimezone(dt.timezone.utc)


@bp.post("/staff/<username>/duty")
def set_duty(username: str):
    """The desk's word on someone's duty today: available, away or off, until a time if given."""
    body = schemas.body(schemas.Duty)
    until = _until(body.until)
    with unit_of_work(db.session):
        try:
            member = lookups.find_staff(db.session, username, roles=lookups.CARE)
        except ValidationError:
            raise NotFound("consultant_not_found") from None
        duty.set_duty(db.session, member, body.status, until=until, actor=g.actor)
    return jsonify(staff_json(member, duty.DutyBoard(db.session)))


def _day(raw: str) -> dt.date:
    day = parse_day(raw)
    if day is None:
        raise ValidationError("date_invalid", field="date")
    return day


@bp.get("/roster/<day>")
def get_roster(day: str):
    return jsonify([roster.roster_json(s) for s in roster.roster_of(db.session, _day(day))])


@bp.put("/roster/<day>")
def put_roster(day: str):
    """Replace that day's roster (排班) whole."""
    the_day = _day(day)
    entries = request.get_json(silent=True)
    if not isinstance(entries, list):
        raise ValidationError("bad_json_list")
    with unit_of_work(db.session):
        roster.replace_roster(db.session, the_day, entries, actor=g.actor)
    return jsonify([roster.roster_json(s) for s in roster.roster_of(db.session, the_day)])


def registration_json(registration) -> dict:
    partner = registration.partner
    return {"id": registration.public_id, "partner": partner.code or partner.name, "a_class": partner.a_class,
            "client": registration.client.public_id, "name": registration.client.name,
            "registered_at": registration.registered_at.isoformat(),
            "expected_day": registration.expected_day.isoformat() if registration.expected_day else None,
            "arrived": registration.visit is not None,
            "verified": registration.verified_at is not None}


@bp.post("/partner-registrations")
def register_partner_client():
    """报备: a partner store announces a client before she comes. 201 when new; 200 with the open
    registration when the store sends the same client again."""
    body = schemas.body(schemas.PartnerRegistration)
    expected = None
    if body.expected_day is not None:
        expected = parse_day(body.expected_day)
        if expected is None:
            raise ValidationError("date_invalid", field="expected_day")
    with unit_of_work(db.session):
        registration, created = partners.register(
            db.session, partner=lookups.find_partner(db.session, body.partner), name=body.name, phone=body.phone,
            expected_day=expected, note=body.note, registered_by=g.actor.label, actor=g.actor)
    return jsonify(registration_json(registration)), 201 if created else 200


@bp.get("/partner-registrations")
def list_partner_registrations():
    """Open registrations and those that arrived that day (default today)."""
    day = schemas.day_asked(db.session)
    return jsonify([registration_json(r) for r in partners.registrations_from(db.session, day)])
