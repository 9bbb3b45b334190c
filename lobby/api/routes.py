"""Thin JSON views over the queue domain."""

from __future__ import annotations

from flask import g, jsonify, request
from flask_httpauth import HTTPTokenAuth
from werkzeug.exceptions import HTTPException

from .. import queue_state
from ..database import unit_of_work
from ..domain import appointments as appts
from ..domain import audit, checkin, lookups, registration, visits, waits
from ..domain import follow_ups as follow_ups_of
from ..domain.errors import DomainError, NotFound, ValidationError
from ..domain.phone import normalise_phone
from ..domain.settings import clinic_day
from ..domain.text import clean_name, parse_day
from ..extensions import csrf, db
from ..links import external_url
from ..messages import message_for
from ..models import Staff, VisitKind, VisitStatus
from ..tokens import appointment_token, ticket_token
from . import bp, schemas
from .keys import key_for

csrf.exempt(bp)
# The kinds the contract lists for POST /visits without an appointment code.
API_KINDS = (VisitKind.WALK_IN, VisitKind.RETURNING, VisitKind.POST_OP, VisitKind.COMPLAINT, VisitKind.BROWSING)


def error(code: str, status: int, /, **params):
    response = jsonify({"error": {"code": code, "message": message_for(code, **params), **(
        {"field": params["field"]} if params.get("field") else {})}})
    response.status_code = status
    return response


@bp.errorhandler(DomainError)
def _domain_error(err: DomainError):
    response = error(err.code, err.status, field=err.field, **err.params)
    if err.status == 503:  # past the server's time limit: nothing saved, the same request may come again
        response.headers["Retry-After"] = "1"
    return response


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException):
    codes = {404: "not_found", 405: "method_not_allowed", 400: "bad_json", 401: "unauthorized", 413: "upload_too_large"}
    return error(codes.get(err.code, "error"), err.code or 400)


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def _unrouted(err: HTTPException):
    """Unknown API paths answer JSON too; other paths keep Flask's pages."""
    if request.path.startswith(bp.url_prefix + "/"):
        return _http_error(err)
    return err


bearer = HTTPTokenAuth(scheme="Bearer", realm="lobby")


@bearer.verify_token
def _api_key(plain: str):
    """The key's record, or None (401); every call acts as "api:<key name>" in the audit trail."""
    key = key_for(db.session, plain.strip())
    if key is not None:
        g.actor = audit.Actor(f"api:{key.name}")
        # End the read transaction: writes below begin their own (IMMEDIATE on SQLite).
        db.session.commit()
    return key


@bearer.error_handler
def _unauthorized(status):
    return error("unauthorized", status)


@bp.before_request
@bearer.login_required
def _require_api_key():
    """Every API route needs a valid key."""


# --- appointments ---------------------------------------------------------------------


def appointment_json(appointment) -> dict:
    token = appointment_token(appointment.public_id)
    return {
        "id": appointment.public_id,
        "code": appointment.code,
        "external_id": appointment.external_id,
        "name": appointment.client.name,
        "phone": appointment.client.phone,
        "starts_at": appointment.starts_at.isoformat(),
        "service": appointment.service.code,
        "consultant": appointment.staff.username if appointment.staff else None,
        "status": appointment.status.value,
        "checkin_url": external_url("kiosk.appointment", token=token),
        "qr_png_url": external_url("kiosk.appointment_qr", token=token),
    }


@bp.post("/appointments")
def create_appointment():
    booking = schemas.body(schemas.Booking)
    booking.require("name", "phone")
    fields = booking.model_dump()
    # "consultant" names a consultant, "doctor" a doctor; the booking keeps whichever is named.
    lookups.find_staff(db.session, fields["consultant"])
    lookups.find_doctor(db.session, fields.pop("doctor"))
    fields["consultant"] = fields["consultant"] or booking.doctor
    with unit_of_work(db.session):
        appointment, created = appts.book(db.session, **fields, actor=g.actor)
    return jsonify(appointment_json(appointment)), 201 if created else 200


@bp.get("/appointments")
def list_appointments():
    day = schemas.day_asked(db.session)
    return jsonify({"date": day.isoformat(),
                    "appointments": [appointment_json(a) for a in appts.on_day(db.session, day)]})


@bp.get("/appointments/<public_id>")
def show_appointment(public_id):
    return jsonify(appointment_json(appts.get_appointment(db.session, public_id)))


@bp.delete("/appointments/<public_id>")
def cancel_appointment(public_id):
    with unit_of_work(db.session):
        appointment = appts.cancel(db.session, appts.get_appointment(db.session, public_id), actor=g.actor)
    return jsonify(appointment_json(appointment))


# --- queue ------------------------------------------------------------------------------


def visit_json(visit, snapshot: waits.QueueSnapshot, staff_view: bool = False) -> dict:
    waiting = visit.status == VisitStatus.WAITING
    estimate = snapshot.for_visit(visit)
    data = {
        "id": visit.public_id,
        "ticket": visit.ticket,
        "line": visit.line.code,
        "kind": visit.kind.value,
        "status": visit.status.value,
        "consultant": visit.consultant.username if visit.consultant else None,
        "room": visit.consultant.room if visit.consultant else None,
        "position": estimate.position if waiting else 0,
        # null (never 0) when nobody on duty can serve them: the reason says why.
        "expected_wait_minutes": estimate.minutes if waiting or estimate.minutes is None else 0,
        # The range's upper bound: "about 20 minutes, at most 35" (null with the wait).
        "expected_wait_max_minutes": estimate.upper if waiting or estimate.minutes is None else 0,
        "ticket_url": external_url("ticket.page", token=ticket_token(visit.public_id)),
    }
    if estimate.minutes is None:
        data["wait_unknown_reason"] = estimate.reason
    if staff_view:
        data.update(
            name=visit.client.name if visit.client else None,
            service=visit.service.code if visit.service else None,
            doctor=visit.doctor.username if visit.doctor else None,
            first_visit=visit.first_visit,
            triage_rule=visit.triage_rule,
            checked_in_at=visit.checked_in_at.isoformat(),
            called_at=visit.called_at.isoformat() if visit.called_at else None,
            left_reason=visit.left_reason,
            waited_minutes=int((snapshot.now - visit.checked_in_at).total_seconds() // 60),
            outcome=visit.outcome,
            services_agreed=visit.services_agreed or [],
            next_contact=visit.next_contact.isoformat() if visit.next_contact else None,
        )
    return data


@bp.get("/follow-ups")
def follow_ups():
    """The visits whose next contact is that day (default today), of clients who agreed to be
    contacted (seed 000 §1.4, §2.5)."""
    day = schemas.day_asked(db.session)
    return jsonify({"date": day.isoformat(), "follow_ups": [
        {"visit": v.public_id, "ticket": v.ticket, "visit_day": v.clinic_day.isoformat(),
         "name": v.client.name, "phone": v.client.phone,
         "consultant": v.consultant.username if v.consultant else None,
         "outcome": v.outcome, "next_contact": v.next_contact.isoformat()}
        for v in follow_ups_of.due_for_contact(db.session, day)]})


@bp.post("/visits")
def check_in():
    body = schemas.body(schemas.CheckIn)
    key = request.headers.get("Idempotency-Key", "").strip()[:80] or None

    def make_visit():
        if body.appointment_code:
            return checkin.check_in_appointment(db.session, appts.find_by_code(db.session, body.appointment_code),
                                                idempotency_key=key, actor=g.actor)
        kind = checkin.registration_kind(body.kind, API_KINDS)
        body.require("name", "phone")
        name, phone = clean_name(body.name), normalise_phone(body.phone)
        service = lookups.find_service(db.session, body.service)
        requested = lookups.find_staff(db.session, body.consultant)
        surgeon = lookups.find_doctor(db.session, body.surgeon, field="surgeon")
        details = registration.VisitorDetails(
            name=name, phone=phone, service_id=service.id if service else None,
            requested_id=requested.id if requested else None, surgeon_id=surgeon.id if surgeon else None,
            surgery_date=lookups.surgery_day(body.surgery_date, clinic_day(db.session)))
        return checkin.check_in_visitor(db.session, details, kind=kind, actor=g.actor, public_tablet=False,
                                        one_per_day=False,
                                        idempotency_key=key)

    visit = lookups.read_again(db.session, checkin.check_in_once(db.session, key, make_visit))
    answer = visit_json(visit, queue_state.snapshot())
    if key is None:
        # Taken, but said: a retry of this request (a timeout, a lost answer) would queue them twice.
        answer["warnings"] = [{"code": "idempotency_key_missing", "message": message_for("idempotency_key_missing")}]
        return jsonify(answer), 201, {"Warning": '299 lobby "Idempotency-Key missing: a retry would check in twice"'}
    return jsonify(answer), 201


@bp.get("/queue")
def queue():
    snapshot = queue_state.snapshot()
    queued = lookups.queue_of_day(db.session, clinic_day(db.session))
    return jsonify({"visits": [visit_json(v, snapshot, staff_view=True) for v in queued],
                    "lines": [{"line": line.code, "waiting": lw.waiting, "expected_wait_minutes": lw.minutes}
                              for line, lw in snapshot.lines(db.session)]})


@bp.get("/visits/<public_id>")
def show_visit(public_id):
    visit = lookups.get_visit(db.session, public_id)
    return jsonify(visit_json(visit, queue_state.snapshot(), staff_view=True))


def _consultant(username: str) -> Staff:
    try:
        staff = lookups.find_staff(db.session, username, roles=lookups.CARE)
    except ValidationError:
        raise NotFound("consultant_not_found") from None
    return staff


@bp.post("/consultants/<username>/call-next")
def call_next(username):
    with unit_of_work(db.session):
        visit = visits.call_next(db.session, _consultant(username), actor=g.actor)
    return jsonify({"id": visit.public_id, "ticket": visit.ticket,
                    "room": visit.consultant.room if visit.consultant else None})


@bp.post("/visits/<public_id>/transition")
def transition(public_id):
    body = schemas.body(schemas.Transition)
    wanted = body.to
    if not isinstance(wanted, str) or wanted not in visits.TARGETS:
        raise ValidationError("status_invalid", field="to", status=str(wanted))
    next_contact = None
    if body.next_contact is not None:
        next_contact = parse_day(body.next_contact)
        if next_contact is None:
            raise ValidationError("date_invalid", field="next_contact")
    with unit_of_work(db.session):
        visit = lookups.get_visit(db.session, public_id, lock=True)
        visits.move(db.session, visit, wanted, actor=g.actor, doctor=lookups.find_doctor(db.session, body.doctor),
                    outcome=body.outcome, next_contact=next_contact, services=body.services)
    return jsonify(visit_json(visit, queue_state.snapshot(), staff_view=True))


@bp.post("/visits/<public_id>/reassign")
def reassign(public_id):
    body = schemas.body(schemas.Reassign)
    with unit_of_work(db.session):
        visit = lookups.get_visit(db.session, public_id, lock=True)
        # "consultant" names a consultant (a doctor is 422), "doctor" a doctor (post-op visitors).
        named = lookups.find_staff(db.session, body.consultant) or lookups.find_doctor(db.session, body.doctor)
        visits.reassign(db.session, visit, reason=body.reason or "", actor=g.actor, consultant=named,
                        line=lookups.find_line(db.session, body.line))
    return jsonify(visit_json(visit, queue_state.snapshot(), staff_view=True))

