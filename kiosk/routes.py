"""Kiosk views: thin, over lobby.domain. One URL for the visitor; each step is an htmx panel.

Nothing is pushed into the browser's history and every response is no-store,
so the back button never shows a previous visitor. What a visitor typed is
carried between steps in the page only (hidden fields) and checked again at
the end, where one unit of work makes the ticket.
"""

from __future__ import annotations

import io
import re
import secrets

from flask import abort, redirect, url_for
from flask import session as browser_session
from flask_babel import get_locale
from flask_wtf.csrf import CSRFError
from htmx_flask import request
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from lobby import queue_state
from lobby.database import unit_of_work
from lobby.domain import appointments as appts
from lobby.domain import (
    checkin,
    clock,
    identity,
    lookups,
    questionnaire,
    registration,
)
from lobby.domain.audit import KIOSK
from lobby.domain.errors import DomainError, NotFound, ValidationError
from lobby.domain.registration import VisitorDetails
from lobby.domain.settings import (
    LANGUAGES,
    clinic_day,
    clinic_zone,
    get_settings,
    is_open,
)
from lobby.domain.text import parse_id
from lobby.extensions import db
from lobby.forms import QuestionnaireForm, ReturningForm, VisitorForm
from lobby.links import external_url
from lobby.messages import message_for
from lobby.models import Client, Line, Service, Visit, VisitKind
from lobby.pages import page_or_fragment, qr_png
from lobby.security import body_limit
from lobby.tokens import (
    TokenError,
    appointment_token,
    read_appointment_token,
    read_ticket_token,
    read_visitor_token,
    ticket_token,
    visitor_token,
)

from . import bp, devices, throttle
from .forms import AppointmentLookupForm, CompanionForm


@bp.after_request
def _no_store(response):
    # A shared tablet: the back button and the cache must never show the previous visitor.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def _kiosk_helpers():
    from lobby import messages

    return {"message_for": message_for, "gender_label": messages.gender_label,
            "channel_label": messages.channel_label, "answer_label": messages.answer_label,
            "greeting": messages.greeting, "topic_list": messages.topic_list, "q": questionnaire}


@bp.before_request
def _closed_hours():
    """Outside opening hours the kiosk says so and takes no check-in (images still load)."""
    if request.endpoint in ("kiosk.appointment_qr", "kiosk.ticket_qr", "kiosk.next_visitor"):
        return None
    if not open_now():
        return panel("closed")
    return None


@bp.errorhandler(CSRFError)
def _stale_form(_err):
    return panel("message", status=400, title_code="session_expired", actions=["start"])


@bp.errorhandler(400)
def _bad_request(_err):
    return panel("message", status=400, title_code="session_expired", actions=["start"])


@bp.errorhandler(429)
def _throttled(_err):
    # The same answer for every number and every reason: it tells a guesser nothing.
    return panel("message", status=429, title_code="kiosk_throttled", actions=["start"])


@bp.errorhandler(413)
def _too_large(_err):
    return panel("message", status=413, title_code="upload_too_large", actions=["start"])


def panel(name: str, status: int = 200, **context):
    """A step of the kiosk: the panel alone for htmx, inside the full page otherwise."""
    settings = get_settings(db.session)
    context.setdefault("settings", settings)
    context.setdefault("errors", {})
    context.setdefault("form", {})
    return page_or_fragment("kiosk/page.html", f"kiosk/panels/{name}.html", status, **context)


def open_now() -> bool:
    return is_open(db.session, clock.utcnow())


def new_key() -> str:
    return secrets.token_urlsafe(16)


def choices() -> dict:
    return registration.form_choices(db.session)


# --- start -------------------------------------------------------------------------------


@bp.get("/", endpoint="start")
def start():
    return panel("start")


@bp.get("/next", endpoint="next_visitor")
def next_visitor():
    """The tablet handed on ("done", "start over", the idle reset): the next visitor starts afresh,
    in the tablet's own language, not in the one the previous visitor chose."""
    browser_session.pop("lang", None)
    return redirect(url_for("kiosk.start"))


@bp.post("/relang", endpoint="relang")
def relang():
    """The visitor changed language mid-step: the same step, with what they typed, in the new language
    (a whole page: the header's language switch changes too)."""
    form = request.form
    if form.get("lang") in LANGUAGES:
        browser_session["lang"] = form["lang"]
    step = form.get("step")
    if step == "details":
        return panel("details", form=form, carry=carried(form), **choices())
    if step == "find":
        return panel("find", form=form, carry=carried(form))
    if step in ("appointment", "companion"):
        return panel(step, form=form)
    if step == "questionnaire":
        return questionnaire_panel(form, carry={**carried(form), **profile(form)}, answers=form)
    return redirect(url_for("kiosk.start"))


@bp.get("/step/<flow>", endpoint="step")
def step(flow: str):
    """The first screen of each path."""
    if flow == "appointment":
        return panel("appointment")
    if flow == "walk-in":
        return panel("details", carry={"flow": "walk-in", "key": new_key()}, **choices())
    if flow in ("returning", "post-op"):
        return panel("find", carry={"flow": flow, "key": new_key()})
    if flow == "companion":
        return panel("companion")
    abort(404)


# --- appointments --------------------------------------------------------------------------


def _confirm(appointment, token: str):
    if not devices.at_a_kiosk():
        # A phone at home, say: no ticket for someone who is not here (kiosk/devices.py).
        return panel("appointment_elsewhere", booking=appointment)
    try:
        appts.check_arrival(db.session, appointment)
    except DomainError as err:
        return panel("message", status=409, title_code=err.code, params=err.params,
                     actions=["walk-in", "start"])
    settings = get_settings(db.session)
    late = appts.status_of(appointment, clock.utcnow(), settings.late_arrival_minutes,
                           clinic_zone(db.session)) == "late"
    return panel("confirm", booking=appointment, late=late,
                 carry={"flow": "appointment", "key": new_key(), "appointment": token})


@bp.post("/appointment", endpoint="find_appointment")
@throttle.per_tablet
@throttle.per_phone
def find_appointment():
    """Phone + booking code typed on the keypad."""
    typed = AppointmentLookupForm()
    if not typed.validate():
        return panel("appointment", status=422, errors=typed.field_errors(), form=request.form)
    try:
        appointment = appts.find_by_code(db.session, typed.code.data, typed.phone.data)
    except NotFound:
        return panel("appointment", status=404, form=request.form,
                     errors={"code": message_for("appointment_not_found")})
    return _confirm(appointment, appointment_token(appointment.public_id))


def _appointment_from_scan(text: str):
    """A scanned QR: the check-in link (or the bare token) of an appointment."""
    match = re.search(r"/kiosk/a/([A-Za-z0-9_\-.]+)", text or "")
    token = match.group(1) if match else (text or "").strip()
    public_id = read_appointment_token(token)  # TokenError when forged, altered or expired
    return appts.get_appointment(db.session, public_id), token


@bp.get("/a/<token>", endpoint="appointment")
def appointment(token: str):
    """Where an appointment's QR code leads (scanned by a phone or the tablet)."""
    return scanned(token)


@bp.post("/scan", endpoint="scan")
def scan():
    """Text from the camera (BarcodeDetector) or from a USB scanner typing like a keyboard."""
    return scanned(request.form.get("code", ""))


# A camera frame is a few hundred kB; anything much larger is not one.
MAX_FRAME_BYTES = 1024 * 1024
MAX_FRAME_SIDE = 4096
MAX_FRAME_PIXELS = 8_000_000


class FrameTooLarge(Exception):
    pass


@bp.post("/scan-image", endpoint="scan_image")
@body_limit(MAX_FRAME_BYTES + 64 * 1024)  # the frame and the form around it
def scan_image():
    """A camera frame from a browser without BarcodeDetector, decoded here."""
    upload = request.files.get("frame")
    if upload is None:
        return panel("message", status=400, title_code="scan_unreadable", actions=["appointment", "start"])
    try:
        text = decode_qr(upload.read(MAX_FRAME_BYTES + 1))
    except FrameTooLarge:
        return panel("message", status=413, title_code="image_too_large", actions=["appointment", "start"])
    if text is None:
        return "", 204  # no code in this frame: the camera keeps looking
    return scanned(text)


def decode_qr(image_bytes: bytes) -> str | None:
    """The text of the first QR code in an image; the size is checked before anything is decoded."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    if len(image_bytes) > MAX_FRAME_BYTES:
        raise FrameTooLarge()
    try:
        image = Image.open(io.BytesIO(image_bytes))  # reads the header only
        width, height = image.size
        if width > MAX_FRAME_SIDE or height > MAX_FRAME_SIDE or width * height > MAX_FRAME_PIXELS:
            raise FrameTooLarge()
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    results = zxingcpp.read_barcodes(image.convert("L"))
    for result in results:
        if result.text:
            return result.text
    return None


def scanned(text: str):
    try:
        booking, token = _appointment_from_scan(text)
    except TokenError as err:
        return panel("message", status=400, title_code=err.code, actions=["walk-in", "start"])
    except NotFound:
        return panel("message", status=404, title_code="appointment_not_found", actions=["walk-in", "start"])
    return _confirm(booking, token)


def asks_pregnancy(form) -> bool:
    """Whether the questionnaire asks about pregnancy, from what the visitor's steps say of them
    (gender, year of birth): asked whenever they do not say."""
    gender, birth_year = None, None
    try:
        flow = form.get("flow")
        if flow == "walk-in":
            gender, birth_year = form.get("gender") or None, parse_id(form.get("birth_year"))
        elif flow in ("returning", "post-op") and form.get("who"):
            typed, verified_id = read_visitor_token(form.get("who", ""))
            client = _verified_client(verified_id)
            gender = client.gender if client else None
            birth_year = typed.get("birth_year") or (client.birth_year if client else None)
        elif flow == "appointment" and form.get("appointment"):
            booking, _ = _appointment_from_scan(form.get("appointment", ""))
            gender, birth_year = booking.client.gender, booking.client.birth_year
    except (TokenError, DomainError, ValueError):
        return True
    this_year = clinic_day(db.session).year
    return questionnaire.asks_pregnancy(gender, birth_year, this_year)


def questionnaire_panel(form, status: int = 200, **context):
    return panel("questionnaire", status=status, asks_pregnancy=asks_pregnancy(form), **context)


@bp.post("/questionnaire", endpoint="questionnaire")
def questionnaire_step():
    """The appointment confirmed: the questionnaire, in private."""
    return questionnaire_panel(request.form, carry=carried(request.form), answers={})


# --- walk-in, returning, post-op ---------------------------------------------------------------


@bp.post("/details", endpoint="details")
@throttle.per_tablet
def details():
    """A walk-in's profile, checked; then the questionnaire."""
    form = request.form
    typed = VisitorForm()
    if not typed.validate():
        return panel("details", status=422, errors=typed.field_errors(), form=form, carry=carried(form), **choices())
    return questionnaire_panel(form, carry={**carried(form), **profile(form)}, answers={})


PROFILE_FIELDS = ("name", "phone", "gender", "birth_year", "channel", "partner", "service", "consultant")


def profile(form) -> dict:
    return {k: form.get(k, "") for k in PROFILE_FIELDS if form.get(k)}


def carried(form) -> dict:
    return {k: form.get(k, "") for k in ("flow", "key", "appointment", "who") if form.get(k)}


def _verified_client(public_id: str | None) -> Client | None:
    if not public_id:
        return None
    return db.session.scalars(select(Client).where(Client.public_id == public_id,
                                                   Client.erased_at.is_(None))).first()


@bp.post("/find", endpoint="find_client")
@throttle.per_tablet
@throttle.per_phone
def find_client():
    """A returning or post-op visitor: mobile, name and year of birth (the second factor).

    The answer is the same whether the number is known or not. Only a name and year of birth
    that match the client on file change it: a greeting by surname and who will see them.
    """
    form = request.form
    typed = ReturningForm()
    if not typed.validate():
        return panel("find", status=422, errors=typed.field_errors(), form=form, carry=carried(form))
    details = typed.details()
    found = identity.identify(db.session, details, second_factor=True,
                              returning=True, allow_verification=throttle.may_prove_identity(details.phone))
    if not found.verified:
        throttle.failed_proof(details.phone)
    else:
        existing = checkin.active_visit_today(db.session, found.client, clinic_day(db.session))
        if existing is not None:  # proven, and already holding today's number: show it
            return ticket_panel(existing, already=True)
    typed = {"name": details.name, "phone": details.phone, "birth_year": details.birth_year}
    who = visitor_token(typed, found.client.public_id if found.verified else None)
    post_op = carried(form).get("flow") == "post-op"
    services = db.session.scalars(
        select(Service).join(Line).where(Service.active, Line.active, Line.post_op.is_(post_op))
        .order_by(Line.position, Service.id)
    ).all()
    return panel("found", client=found.client, services=services, post_op=post_op,
                 carry={**carried(form), "who": who})


class StepInterrupted(Exception):
    """What the page carries from step to step is no longer valid: start again."""


def _returning_visitor(form) -> tuple[VisitorDetails, Client | None]:
    """Who the carried token says a returning visitor is, with the service they chose, checked."""
    typed, verified_id = read_visitor_token(form.get("who", ""))  # TokenError when forged or stale
    checked = ReturningForm(formdata=MultiDict({**typed, "birth_year": str(typed.get("birth_year") or ""),
                                                "service": form.get("service", "")}))
    if not checked.validate():
        raise StepInterrupted()
    return checked.details(), _verified_client(verified_id)


@bp.post("/reason", endpoint="reason")
@throttle.per_tablet
def reason():
    """Returning / post-op: the reason chosen; then the questionnaire, answered afresh.

    The tablet never shows earlier answers. A visitor who proved who they are is told which
    topics they mentioned last time (never what they said), to check what has changed.
    """
    form = request.form
    try:
        _, client = _returning_visitor(form)
    except (TokenError, StepInterrupted):
        return panel("message", status=400, title_code="session_expired", actions=["start"])
    service = form.get("service", "")
    carry = {**carried(form), **({"service": service} if service else {})}
    topics = questionnaire.previous_topics(db.session, client.id) if client else []
    return questionnaire_panel(form, carry=carry, answers={}, previous_topics=topics)


@bp.post("/finish", endpoint="finish")
@throttle.per_tablet
@throttle.per_phone
def finish():
    """Questionnaire answered: make the ticket (once, whatever the number of taps)."""
    form = request.form
    flow = form.get("flow")
    key = (form.get("key") or "")[:80] or None
    answered = QuestionnaireForm(asks_pregnancy=asks_pregnancy(form))
    if not answered.validate():
        return questionnaire_panel(form, status=422, errors=answered.field_errors(), answers=form,
                                   carry={**carried(form), **profile(form)})
    answers, flags, consents = answered.answers()
    proof_failed = []

    def make_visit():
        if flow == "appointment":
            if not devices.at_a_kiosk():
                raise ValidationError("appointment_at_the_clinic")
            booking, _ = _appointment_from_scan(form.get("appointment", ""))
            visit = checkin.check_in_appointment(db.session, booking, idempotency_key=key, actor=KIOSK)
        elif flow in ("returning", "post-op"):
            details, client = _returning_visitor(form)
            visit = checkin.check_in_visitor(db.session, details, kind=checkin.registration_kind(flow),
                                             actor=KIOSK, public_tablet=True, idempotency_key=key,
                                             allow_verification=client is not None)
        elif flow == "walk-in":
            walk_in = VisitorForm()
            if not walk_in.validate():
                raise StepInterrupted()  # checked on the previous step: only a tampered page gets here
            details = walk_in.details()
            visit = checkin.check_in_visitor(db.session, details, kind=VisitKind.WALK_IN, actor=KIOSK,
                                             public_tablet=True, idempotency_key=key,
                                             allow_verification=throttle.may_prove_identity(details.phone))
            if visit.identity_flag == identity.PHONE_MISMATCH:
                proof_failed.append(details.phone)
        else:
            raise ValidationError("session_expired")
        questionnaire.record_answers(db.session, visit, answers, flags, consents, actor=KIOSK)
        if visit.client is not None:
            visit.client.language = str(get_locale())  # follow-up messages are written in it
        return visit

    try:
        visit = checkin.check_in_once(db.session, key, make_visit)
    except checkin.AlreadyHere as here:
        return ticket_panel(here.visit, already=True)  # nothing of this round is kept
    except StepInterrupted:
        return panel("message", status=422, title_code="session_expired", actions=["start"])
    except TokenError as err:
        return panel("message", status=400, title_code=err.code, actions=["walk-in", "start"])
    except DomainError as err:
        return panel("message", status=err.status, title_code=err.code, params=err.params,
                     actions=["walk-in", "start"])
    for phone in proof_failed:
        throttle.failed_proof(phone)
    return ticket_panel(visit)


def ticket_panel(visit: Visit, already: bool = False):
    """The ticket; `already`: the visitor had it before this round (shown again, not made again)."""
    estimate = queue_state.estimate(visit)
    token = ticket_token(visit.public_id)
    return panel("ticket", visit=visit, estimate=estimate, token=token, already=already,
                 ticket_url=external_url("ticket.page", token=token))


# --- companions -----------------------------------------------------------------------------


@bp.post("/companion", endpoint="companion")
@throttle.per_tablet
def companion():
    """Someone accompanying a visitor: linked to their ticket, no ticket or questionnaire of their own."""
    form = request.form
    typed = CompanionForm()
    typed.validate()
    visit = lookups.find_active_by_ticket(db.session, typed.ticket.data, clinic_day(db.session))
    if visit is None:
        return panel("companion", status=404, form=form, errors={"ticket": message_for("ticket_not_found")})
    try:
        with unit_of_work(db.session):
            checkin.add_companion(db.session, visit, actor=KIOSK)
    except DomainError:  # they left between the look-up and now
        return panel("companion", status=404, form=form, errors={"ticket": message_for("ticket_not_found")})
    estimate = queue_state.estimate(visit)
    # Their person's phone page (it names nobody): the companion follows the same queue.
    return panel("companion_done", visit=visit, estimate=estimate, token=ticket_token(visit.public_id))


# --- images ------------------------------------------------------------------------------------

# Each QR image encodes the page its signed token leads to: a booking's check-in, or a ticket's phone page.
QR_TARGETS = {"appointment": (read_appointment_token, "kiosk.appointment"),
              "ticket": (read_ticket_token, "ticket.page")}


def qr_image(token: str, kind: str):
    """The QR code of a booking's check-in link (confirmations, print) or of a ticket's phone page."""
    read_token, endpoint = QR_TARGETS[kind]
    try:
        read_token(token)
    except TokenError:
        abort(404)
    return qr_png(external_url(endpoint, token=token))


bp.add_url_rule("/a/<token>/qr.png", "appointment_qr", qr_image, defaults={"kind": "appointment"})
bp.add_url_rule("/ticket-qr/<token>.png", "ticket_qr", qr_image, defaults={"kind": "ticket"})
