"""Front-desk panel views: thin, over lobby.domain; every action audited and pushed to every screen."""

from __future__ import annotations

import logging
import time

from flask import abort, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from htmx_flask import request
from sqlalchemy import select

from lobby import audit_words, queue_state
from lobby.database import flush_erased_pages, unit_of_work
from lobby.domain import (
    audit,
    clock,
    desk,
    errors,
    identity,
    lookups,
    partners,
    questionnaire,
    retell,
    staff_sessions,
    visits,
)
from lobby.domain.duty import move_on_rotation_board, set_duty
from lobby.domain.errors import DomainError, NotFound
from lobby.domain.settings import clinic_day, clinic_zone, get_settings
from lobby.domain.text import parse_day, parse_id
from lobby.domain.waits import QueueSnapshot
from lobby.extensions import db, limiter
from lobby.forms import QuestionnaireForm
from lobby.messages import message_for, outcome_label
from lobby.models import Line, Role, Service, Staff, Visit, VisitStatus
from lobby.pages import page_or_fragment
from lobby.presenters import localized
from lobby.redirects import safe_next

from . import bp
from .auth import CARE, DESK, EVERYONE, expire_idle_session, roles_required, staff_actor
from .forms import LoginForm, ReassignForm

security_log = logging.getLogger("lobby.security")

S = VisitStatus
# What each button on a visitor's row asks the visit to become (visits.TARGETS).
ACTIONS = {
    "call": "called",
    "recall": "recalled",
    "skip": "no_show",
    "start": "with_consultant",
    "doctor": "with_doctor",
    "finish": "done",
    "left": "left",
    "requeue": "waiting",
}


@bp.context_processor
def _admin_helpers():
    from lobby import messages

    return {"flag_label": messages.flag_label, "duty_label": messages.duty_label,
            "specialty_label": messages.specialty_label, "message_for": message_for,
            "gender_label": messages.gender_label, "channel_label": messages.channel_label,
            "answer_label": messages.answer_label, "identity_label": messages.identity_label,
            "decision_label": messages.decision_label, "field_label": messages.field_label,
            "role_label": messages.role_label, "rule_label": messages.rule_label,
            "duty_reason": messages.duty_reason, "outcome_label": messages.outcome_label,
            "purpose_label": messages.purpose_label,
            "identity_decisions": identity.DECISIONS}


@bp.before_request
def _idle_staff_sessions():
    expire_idle_session()


@bp.errorhandler(NotFound)
@bp.errorhandler(404)
def _not_found(_err):
    """An unknown visitor, booking or page: a plain 404 in the desk's frame, never a 500."""
    if not current_user.is_authenticated:
        return message_for("not_found"), 404
    return render_template("admin/message.html", message=message_for("not_found"), settings=get_settings(db.session),
                           me=current_user, is_desk=is_desk()), 404


def is_desk() -> bool:
    return current_user.role in DESK


# --- login --------------------------------------------------------------------------------


def _failed_login(response) -> bool:
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"], endpoint="login")
@limiter.limit("10 per 5 minutes", methods=["POST"], deduct_when=_failed_login)
def login():
    error = None
    if request.method == "POST":
        typed = LoginForm()
        typed.validate()
        staff = db.session.scalars(select(Staff).where(Staff.username == typed.username.data)).first()
        if staff is not None and staff.active and staff.check_password(typed.password.data):
            session.clear()  # a fresh session at every login: no fixation
            with unit_of_work(db.session):
                staff = db.session.get(Staff, staff.id)
                staff_sessions.open_session(db.session, staff, actor=staff_actor(staff))
            login_user(staff)
            session["seen_at"] = time.time()
            return redirect(safe_next(request.args.get("next"), url_for("admin.index"), under="/admin"))
        error = "wrong"
        # Who tried is worth knowing; what they typed as a password never is.
        security_log.warning("failed staff login: known_account=%s", "yes" if staff is not None else "no")
    status = 401 if error else 200
    return render_template("admin/login.html", error=error, settings=get_settings(db.session)), status


@bp.errorhandler(429)
def _throttled(_err):
    return render_template("admin/login.html", error="throttled", settings=get_settings(db.session)), 429


@bp.post("/logout", endpoint="logout")
@roles_required(*EVERYONE)
def logout():
    """Ends the session on the server too: a copy of the cookie opens nothing afterwards."""
    with unit_of_work(db.session):
        staff_sessions.end_session(db.session, current_user.session_token, staff_sessions.LOGOUT, actor=staff_actor())
    logout_user()
    session.clear()
    return redirect(url_for("admin.login"))


# --- the live list ------------------------------------------------------------------------------


def list_context(message: str | None = None, message_kind: str = "error") -> dict:
    snapshot = queue_state.snapshot()  # the state every screen shows, read once per change
    # Time passes with nothing else happening (a consultation overruns): the desk's refresh notices.
    if retell.check(db.session, snapshot):
        db.session.commit()
    line = request.values.get("line") or None
    sort = request.values.get("sort", "arrival")
    search = (request.values.get("q") or "").strip()[:40]
    group = request.values.get("group", "")
    group = group if group in desk.GROUPINGS else ""
    if is_desk():
        wanted = request.values.get("consultant", "")
        consultant_id = parse_id(wanted)
    else:
        consultant_id = current_user.id  # consultants and doctors see their own queue
    listing = desk.desk_list(db.session, snapshot, line_code=line, consultant_id=consultant_id, sort=sort,
                             search=search, now=clock.utcnow())
    return {
        "listing": listing, "settings": get_settings(db.session), "me": current_user, "is_desk": is_desk(),
        # 报备: the desk verifies the store of a registered client (核定).
        "registrations": partners.for_visits(db.session, [row.visit.id for row in listing.rows]) if is_desk() else {},
        "lines": db.session.scalars(select(Line).where(Line.active).order_by(Line.position)).all(),
        "consultants": db.session.scalars(select(Staff).where(Staff.active, Staff.role.in_(CARE))
                                          .order_by(Staff.role, Staff.rotation_order)).all(),
        "doctors": db.session.scalars(select(Staff).where(Staff.active, Staff.role == Role.DOCTOR)
                                      .order_by(Staff.display_name)).all(),
        "services": db.session.scalars(select(Service).where(Service.active)
                                       .order_by(Service.line_id, Service.id)).all(),
        "duty": snapshot.board,
        "filters": {"line": line or "", "consultant": str(consultant_id or ""), "sort": sort, "q": search,
                    "group": group},
        "groups": desk.grouped(listing.rows, group),
        "message": message, "message_kind": message_kind,
    }


@bp.get("/", endpoint="index")
@roles_required(*EVERYONE)
def index():
    return page_or_fragment("admin/index.html", "admin/_queue.html", **list_context())


def _visit_for(public_id: str, lock: bool = False):
    visit = lookups.get_visit(db.session, public_id, lock=lock)
    if not is_desk() and current_user.id not in (visit.consultant_id, visit.doctor_id):
        abort(403)  # a consultant acts on their own visitors only; a doctor also on those handed to him
    return visit


def _doctor_named(form) -> Staff | None:
    """The doctor a hand-off names: the one chosen, or the doctor pressing the button himself."""
    chosen = parse_id(form.get("doctor"))
    if chosen:
        return db.session.get(Staff, chosen)
    return db.session.get(Staff, current_user.id) if current_user.role == Role.DOCTOR else None


def _after_action(error: DomainError | None = None, done: str | None = None):
    """The list after an action: the error in words, or `done` confirming what happened."""
    if error:
        return render_template("admin/_queue.html", **list_context(
            message_for(error.code, field=error.field, **error.params))), error.status
    return render_template("admin/_queue.html", **list_context(done, "ok"))


@bp.post("/visits/<public_id>/act", endpoint="act")
@roles_required(*EVERYONE)
def act(public_id: str):
    """One click on a visitor's row: call, recall, skip, start, doctor, finish, left, requeue."""
    action = request.form.get("action", "")
    if action not in ACTIONS:
        abort(400)
    try:
        with unit_of_work(db.session):
            visit = _visit_for(public_id, lock=True)
            visits.expect_status(visit, request.form.get("expected"))
            visits.move(db.session, visit, ACTIONS[action], actor=staff_actor(),
                        doctor=_doctor_named(request.form) if action == "doctor" else None,
                        **(_how_it_ended(request.form) if action == "finish" else {}))
    except DomainError as err:
        return _after_action(err)
    if action == "finish" and visit.outcome:
        return _after_action(done=_("%(ticket)s finished · %(outcome)s", ticket=visit.ticket,
                                    outcome=outcome_label(visit.outcome)))
    return _after_action()


def _how_it_ended(form) -> dict:
    """A finish's outcome, next contact and treatments agreed, as the row's buttons send them."""
    raw_day = (form.get("next_contact") or "").strip()
    next_contact = parse_day(raw_day) if raw_day else None
    if raw_day and next_contact is None:
        raise errors.ValidationError("date_invalid", field="next_contact")
    return {"outcome": form.get("outcome") or None, "next_contact": next_contact,
            "services": form.getlist("services") or None}


@bp.post("/visits/<public_id>/told", endpoint="wait_told")
@roles_required(*DESK)
def wait_told(public_id: str):
    """A receptionist told the visitor their new wait in person (the row's prompt goes)."""
    try:
        with unit_of_work(db.session):
            retell.mark_told(db.session, _visit_for(public_id, lock=True), actor=staff_actor())
    except DomainError as err:
        return _after_action(err)
    return _after_action()


@bp.post("/visits/<public_id>/reassign", endpoint="reassign")
@roles_required(*DESK)
def reassign(public_id: str):
    """换人咨询: another consultant or line, with a reason."""
    form = request.form
    try:
        with unit_of_work(db.session):
            visit = lookups.get_visit(db.session, public_id, lock=True)
            visits.expect_status(visit, form.get("expected"))
            visits.expect_assignment(visit, form.get("expected_consultant"), form.get("expected_line"))
            typed = ReassignForm()
            if not typed.validate():
                raise errors.ValidationError("unknown_consultant", field="consultant",
                                             username=form.get("to_consultant"))
            consultant = db.session.get(Staff, typed.to_consultant.data) if typed.to_consultant.data else None
            visits.reassign(db.session, visit, reason=typed.reason.data, consultant=consultant,
                            line=lookups.find_line(db.session, typed.to_line.data), actor=staff_actor())
    except DomainError as err:
        return _after_action(err)
    # Say what happened: the list keeps the receptionist's filter, so the row may leave the view.
    where = visit.consultant.display_name if visit.consultant else localized(visit.line)
    return _after_action(done=_("%(ticket)s → %(where)s", ticket=visit.ticket, where=where))


@bp.post("/visits/<public_id>/note", endpoint="note")
@roles_required(*EVERYONE)
def note(public_id: str):
    try:
        with unit_of_work(db.session):
            visits.add_note(db.session, _visit_for(public_id), request.form.get("note", ""), actor=staff_actor())
    except DomainError as err:
        return _after_action(err)
    return _after_action()


@bp.post("/call-next", endpoint="call_next")
@roles_required(*EVERYONE)
def call_next():
    """Call the next visitor for a consultant (a consultant calls for themself)."""
    wanted = request.form.get("consultant", "")
    if is_desk():
        consultant = db.session.get(Staff, parse_id(wanted)) if parse_id(wanted) else None
        if consultant is None or not consultant.active or consultant.role not in CARE:
            abort(400)  # visitors are called for those who see them
    else:
        consultant = db.session.get(Staff, current_user.id)
    try:
        with unit_of_work(db.session):
            visits.call_next(db.session, db.session.get(Staff, consultant.id), actor=staff_actor())
    except DomainError as err:
        return _after_action(err)
    return _after_action()


# --- rotation board (轮牌) -----------------------------------------------------------------------------


@bp.get("/rotation", endpoint="rotation")
@roles_required(*DESK)
def rotation():
    snapshot = QueueSnapshot(db.session, clinic_day(db.session), clock.utcnow())
    rows = desk.rotation_board(db.session, snapshot)
    context = {"rows": [r for r in rows if r.staff.role == Role.CONSULTANT],
               "doctors": [r for r in rows if r.staff.role == Role.DOCTOR],
               "rostered": bool(snapshot.board.shifts), "settings": get_settings(db.session),
               "me": current_user, "is_desk": True, "statuses": ["available", "away", "off"]}
    return page_or_fragment("admin/rotation.html", "admin/_rotation.html", **context)


@bp.post("/rotation/<staff_id>/duty", endpoint="duty")
@roles_required(*DESK)
def duty(staff_id: str):
    """The desk's word on someone's duty today (available, away, off), or back to the roster."""
    wanted = request.form.get("status", "")
    if wanted not in ("available", "away", "off", "roster"):
        abort(400)
    with unit_of_work(db.session):
        staff = db.session.get(Staff, parse_id(staff_id)) if parse_id(staff_id) else None
        if staff is None or staff.role not in CARE:
            abort(404)
        set_duty(db.session, staff, wanted, actor=staff_actor())
    return rotation()


@bp.post("/rotation/<staff_id>/move", endpoint="move")
@roles_required(Role.ADMIN)
def move(staff_id: str):
    """An admin reorders the board: swap a consultant with the one above or below."""
    direction = -1 if request.form.get("direction") == "up" else 1
    with unit_of_work(db.session):
        if not parse_id(staff_id) or not move_on_rotation_board(db.session, parse_id(staff_id), direction,
                                                                          actor=staff_actor()):
            abort(404)
    return rotation()


# --- visitor detail -----------------------------------------------------------------------------------


def render_visit_detail(public_id: str, status: int = 200, **extra):
    """The visitor's page: contact data, identity checks, visit history, the questionnaire's flags."""
    from lobby.domain import registration

    visit = _visit_for(public_id)
    history = []
    if visit.client_id is not None:
        history = db.session.scalars(select(Visit).where(Visit.client_id == visit.client_id)
                                     .order_by(Visit.checked_in_at.desc())).all()
    previous = questionnaire.last_questionnaire(db.session, visit.client_id, before=visit)
    context = {"visit": visit, "history": history, "settings": get_settings(db.session), "me": current_user,
               "is_desk": is_desk(), "form": visit.questionnaire, "previous": previous,
               "client_form": None, "client_errors": {}, "care_form": None, "care_errors": {},
               "message": None, "message_kind": "error",
               **(registration.form_choices(db.session) if is_desk() else {}), **extra}
    return render_template("admin/visit.html", **context), status


@bp.get("/visits/<public_id>", endpoint="visit_detail")
@roles_required(*EVERYONE)
def visit_detail(public_id: str):
    """Contact data, visit history and the questionnaire's flags; the answers open on request."""
    return render_visit_detail(public_id)


@bp.get("/visits/<public_id>/answers", endpoint="visit_answers")
@roles_required(*EVERYONE)
def visit_answers(public_id: str):
    """The health answers themselves (?previous=1: the client's last ones before this visit, for staff to
    confirm with them); every opening is recorded in the audit trail."""
    previous = request.args.get("previous") == "1"
    with unit_of_work(db.session):
        visit = _visit_for(public_id)
        form = (questionnaire.last_questionnaire(db.session, visit.client_id, before=visit) if previous
                else visit.questionnaire)
        if form is None:
            abort(404)
        audit.audit(db.session, staff_actor(), "view_answers", visit, **({"previous": True} if previous else {}))
    return render_template("admin/_answers.html", visit=visit, form=form, q=questionnaire)


@bp.route("/visits/<public_id>/questionnaire", methods=["GET", "POST"], endpoint="fill_questionnaire")
@roles_required(*EVERYONE)
def fill_questionnaire(public_id: str):
    """The questionnaire filled in later with the visitor (registered at the desk, say)."""
    from lobby.domain import questionnaire as q

    visit = _visit_for(public_id)
    if visit.questionnaire is not None:
        return redirect(url_for("admin.visit_detail", public_id=public_id))
    errors, answers = {}, {}
    client = visit.client
    asks_pregnancy = q.asks_pregnancy(client.gender if client else None, client.birth_year if client else None,
                                      clinic_day(db.session).year)
    if request.method == "POST":
        answers = request.form
        answered = QuestionnaireForm(asks_pregnancy=asks_pregnancy)
        if answered.validate():
            cleaned, flags, consents = answered.answers()
            with unit_of_work(db.session):
                visit = _visit_for(public_id, lock=True)
                if visit.questionnaire is None:
                    q.record_answers(db.session, visit, cleaned, flags, consents, actor=staff_actor())
            return redirect(url_for("admin.visit_detail", public_id=public_id))
        errors = answered.field_errors()
    else:
        # Last time's answers, to go through with the visitor: an opening of answers like any other.
        previous = q.last_questionnaire(db.session, visit.client_id, before=visit)
        if previous is not None:
            answers = dict(previous.answers)
            with unit_of_work(db.session):
                audit.audit(db.session, staff_actor(), "view_answers", db.session.get(Visit, visit.id), previous=True)
    return render_template("admin/questionnaire.html", visit=visit, answers=answers, errors=errors, q=q,
                           asks_pregnancy=asks_pregnancy,
                           settings=get_settings(db.session), me=current_user, is_desk=is_desk()), \
        (422 if errors else 200)


# --- personal data: erasure, audit trail -------------------------------------------------------------


@bp.post("/clients/<public_id>/erase", endpoint="erase_client")
@roles_required(Role.ADMIN)
def erase_client(public_id: str):
    """Erasure on request (PIPL): the client's name, phone, answers and notes are gone."""
    from lobby.domain.privacy_lifecycle import erase_client as erase
    from lobby.models import Client

    client = db.session.scalars(select(Client).where(Client.public_id == public_id)).first()
    if client is None:
        abort(404)
    try:
        with unit_of_work(db.session):
            erase(db.session, db.session.get(Client, client.id), actor=staff_actor())
        flush_erased_pages(db.engine)
    except DomainError as err:
        return render_template("admin/message.html", message=message_for(err.code), settings=get_settings(db.session),
                               me=current_user, is_desk=True), err.status
    return render_template("admin/message.html", message=message_for("client_erased"),
                           settings=get_settings(db.session), me=current_user, is_desk=True)


AUDIT_PAGE = 200


@bp.get("/audit", endpoint="audit_trail")
@roles_required(Role.ADMIN)
def audit_trail():
    """Who did what to whom, filterable by action, staff member and day. Never health answers."""
    from lobby.models import AuditEntry

    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(AUDIT_PAGE)
    action = request.args.get("action") or ""
    who = request.args.get("actor") or ""
    day = request.args.get("date") or ""
    if action:
        query = query.where(AuditEntry.action == action)
    if parse_id(who):
        query = query.where(AuditEntry.actor_id == parse_id(who))
    if parse_day(day):
        start, end = clock.day_bounds(parse_day(day), clinic_zone(db.session))
        query = query.where(AuditEntry.at >= start, AuditEntry.at < end)
    else:
        day = ""
    entries = db.session.scalars(query).all()
    actions = db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all()
    staff = db.session.scalars(select(Staff).order_by(Staff.username)).all()
    people = {s.id: s.display_name for s in staff}
    usernames = {s.username: s.display_name for s in staff}
    rows = [(e, audit_words.action_label(e.action), audit_words.details(e, people, usernames)) for e in entries]
    return render_template("admin/audit.html", rows=rows, actions=actions, staff=staff,
                           action_label=audit_words.action_label,
                           filters={"action": action, "actor": who, "date": day},
                           settings=get_settings(db.session), me=current_user, is_desk=True)
