"""The desk's follow-ups: thank-yous within 24 hours, next contacts due, call-backs of bookings not
kept — each with a message ready to copy in the client's language, marked once done (audited)."""

from __future__ import annotations

from flask import abort
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from htmx_flask import request
from sqlalchemy.exc import IntegrityError

from lobby.database import unit_of_work
from lobby.domain import clock, follow_ups
from lobby.domain.errors import DomainError
from lobby.domain.settings import clinic_day, clinic_zone, get_settings
from lobby.extensions import db
from lobby.messages import message_for
from lobby.pages import page_or_fragment

from . import bp
from .auth import DESK, EVERYONE, roles_required, staff_actor

LANGUAGES = ("zh_CN", "en")


def message(follow_up: follow_ups.FollowUp, clinic: str) -> str:
    """What to send, in the client's language (the one she used at the lobby tablet; else Chinese)."""
    language = follow_up.client.language if follow_up.client.language in LANGUAGES else "zh_CN"
    tz = clinic_zone(db.session)
    with force_locale(language):
        name = follow_up.client.name or ""
        if follow_up.purpose == follow_ups.THANKS:
            visit = follow_up.visit
            text = _("Dear %(name)s, thank you for visiting %(clinic)s today. If anything comes up after "
                     "your consultation, we are here for you.", name=name, clinic=clinic)
            if visit.next_contact:
                text += " " + _("As agreed, we will be in touch again on %(day)s.",
                                day=visit.next_contact.strftime("%m/%d"))
            return text
        if follow_up.purpose == follow_ups.NEXT_CONTACT:
            visit = follow_up.visit
            who = visit.consultant.display_name if visit.consultant else clinic
            return _("Dear %(name)s, this is %(who)s from %(clinic)s. As we agreed at your visit on %(day)s, "
                     "I am getting back to you: is there anything I can help you with?",
                     name=name, who=who, clinic=clinic, day=visit.clinic_day.strftime("%m/%d"))
        booking = follow_up.appointment
        service = booking.service.name(language) if booking.service else ""
        return _("Dear %(name)s, we missed you at your %(service)s appointment on %(day)s at %(time)s. "
                 "Would you like us to book another time for you?", name=name, service=service,
                 day=booking.starts_at.astimezone(tz).strftime("%m/%d"),
                 time=booking.starts_at.astimezone(tz).strftime("%H:%M"))


def page_context(flash: str | None = None, flash_kind: str = "ok") -> dict:
    now = clock.utcnow()
    settings = get_settings(db.session)
    sections = [
        (follow_ups.THANKS, follow_ups.thank_yous(db.session, now)),
        (follow_ups.NEXT_CONTACT, follow_ups.next_contacts(db.session, clinic_day(db.session, now))),
        (follow_ups.NO_SHOW, follow_ups.no_show_call_backs(db.session, now)),
    ]
    return {"sections": [(purpose, [(f, message(f, settings.name)) for f in rows]) for purpose, rows in sections],
            "today": clinic_day(db.session, now), "settings": settings, "me": current_user, "is_desk": True,
            "flash": flash, "flash_kind": flash_kind}


@bp.get("/follow-ups", endpoint="follow_ups")
@roles_required(*DESK)
def follow_ups_page():
    return page_or_fragment("admin/follow_ups.html", "admin/_follow_ups.html", **page_context())


@bp.post("/follow-ups/<purpose>/<key>/contacted", endpoint="mark_contacted")
@roles_required(*DESK)
def mark_contacted(purpose: str, key: str):
    """Mark one follow-up made; the list comes back with it ticked."""
    if purpose not in follow_ups.PURPOSES:
        abort(404)
    try:
        with unit_of_work(db.session):
            found = follow_ups.find(db.session, purpose, key, clock.utcnow())
            if found is None:
                abort(404)
            follow_ups.mark_contacted(db.session, found, note=request.form.get("note"), actor=staff_actor())
    except DomainError as err:
        return page_or_fragment("admin/follow_ups.html", "admin/_follow_ups.html", status=err.status,
                                **page_context(message_for(err.code, field=err.field, **err.params), "error"))
    except IntegrityError:  # a colleague marked it at the same moment: it is marked, once
        db.session.rollback()
        return page_or_fragment("admin/follow_ups.html", "admin/_follow_ups.html", **page_context())
    name = found.client.name or ""
    return page_or_fragment("admin/follow_ups.html", "admin/_follow_ups.html",
                            **page_context(_("%(name)s: marked as contacted.", name=name)))


@bp.post("/visits/<public_id>/outcome", endpoint="record_outcome")
@roles_required(*EVERYONE)
def record_outcome(public_id: str):
    """The outcome told after the finish, or corrected, on the visitor's page."""
    from .routes import _how_it_ended, _visit_for, render_visit_detail

    try:
        with unit_of_work(db.session):
            visit = _visit_for(public_id, lock=True)
            how = _how_it_ended(request.form)
            follow_ups.set_outcome(db.session, visit, outcome=how["outcome"], next_contact=how["next_contact"],
                                   services=how["services"], actor=staff_actor())
    except DomainError as err:
        db.session.rollback()
        return render_visit_detail(public_id, status=err.status,
                                   message=message_for(err.code, field=err.field, **err.params))
    return render_visit_detail(public_id, message=_("The outcome is recorded."), message_kind="ok")
