"""The clinic's settings: the settings row and the clinic day and hours derived from it, and the
admins' changes to the clinic, its lines, services, staff accounts and partner stores (each audited
and published). Values arrive checked (admin/forms.py); what only the database can tell — a code or
a prefix already in use — is checked here and refused field by field (FormInvalid)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from ..models import ClinicSettings, Line, PartnerStore, Role, Service, Staff
from . import clock, events, staff_sessions
from .audit import Actor, audit
from .errors import FormInvalid

_SETTINGS = "lobby_settings"  # session.info: the settings row this transaction read


def get_settings(session: Session) -> ClinicSettings:
    """The settings row; an unsaved default one when the clinic has none yet.

    Read once per transaction: a check-in asks for it (its day, its zone, its rules) several times."""
    settings = session.info.get(_SETTINGS)
    if settings is None or settings not in session:
        settings = session.scalars(select(ClinicSettings).order_by(ClinicSettings.id).limit(1)).first()
        if settings is None:
            return ClinicSettings.with_defaults()
        session.info[_SETTINGS] = settings
    return settings


@event.listens_for(Session, "after_transaction_end")
def _forget_settings(session: Session, transaction) -> None:
    if transaction.parent is None:  # the transaction itself, not a flush's or a savepoint's inside it
        session.info.pop(_SETTINGS, None)


# The deployment's time zone (LOBBY_TIMEZONE) travels with its database engine, set by create_app:
# one app, one engine, one default; no process-wide setting that another app could change.
ENGINE_TIMEZONE_OPTION = "lobby_timezone"


def deployment_timezone(session: Session) -> str | None:
    return session.get_bind().get_execution_options().get(ENGINE_TIMEZONE_OPTION)


def clinic_zone(session: Session) -> ZoneInfo:
    """The clinic's own zone if its settings name one, else the deployment's."""
    return clock.zone(get_settings(session).timezone or deployment_timezone(session))


def clinic_day(session: Session, now: dt.datetime | None = None) -> dt.date:
    return clock.local_day(now or clock.utcnow(), clinic_zone(session))


def is_open(session: Session, now: dt.datetime) -> bool:
    """Whether the clinic takes check-ins at `now` (hours may span midnight)."""
    settings = get_settings(session)
    if settings.open_all_day:
        return True
    local = now.astimezone(clinic_zone(session)).time()
    opens, closes = settings.opens_at, settings.closes_at
    if opens <= closes:
        return opens <= local < closes
    return local >= opens or local < closes


# --- the admins' changes ----------------------------------------------------------------

SPECIALTIES = ("skin", "injectables", "eyes", "nose", "body")
# The languages the clinic's screens speak (Simplified Chinese first, the default).
LANGUAGES = ("zh_CN", "en")
# Thresholds a clinic may set: (lowest, highest).
NUMBERS = {"long_wait_minutes": (1, 240), "kiosk_idle_seconds": (15, 900), "staff_idle_minutes": (5, 720),
           "early_arrival_minutes": (0, 720), "late_arrival_minutes": (0, 720), "retention_days": (30, 3650),
           "retell_threshold_minutes": (3, 120)}
CLINIC_FIELDS = ("name", "timezone", "opens_at", "closes_at", "open_all_day", "mask_names_on_board",
                 "speech_enabled", "speech_language", "ownership_rule", "rotation_counts_designated", *NUMBERS)


def _unique(session: Session, model, row, **values) -> None:
    """Refuse values another row of `model` already uses, field by field."""
    taken = {}
    for field, value in values.items():
        clash = session.scalar(select(model.id).where(getattr(model, field) == value)) if value else None
        if clash is not None and (row is None or clash != row.id):
            taken[field] = "already_used"
    if taken:
        raise FormInvalid(taken)


def _published(session: Session, *, actor: Actor, **detail) -> None:
    session.flush()
    audit(session, actor, "settings", None, **detail)
    events.record(session, "settings.changed")


def update_clinic(session: Session, values: dict, *, actor: Actor) -> ClinicSettings:
    settings = get_settings(session)
    session.add(settings)
    for field in CLINIC_FIELDS:
        setattr(settings, field, values[field])
    _published(session, actor=actor, section="clinic")
    return settings


def save_line(session: Session, values: dict, *, actor: Actor, existing: Line | None = None) -> Line:
    _unique(session, Line, existing, code=values["code"], prefix=values["prefix"])
    line = existing
    if line is None:
        line = Line(position=(session.scalar(select(func.max(Line.position))) or 0) + 1)
        session.add(line)
    for field in ("code", "prefix", "name_zh", "name_en", "colour", "post_op"):
        setattr(line, field, values[field])
    line.active = not values["closed"]
    _published(session, actor=actor, section="line", line=line.code)
    return line


def save_service(session: Session, values: dict, *, actor: Actor, existing: Service | None = None) -> Service:
    _unique(session, Service, existing, code=values["code"])
    service = existing if existing is not None else Service()
    for field in ("code", "name_zh", "name_en", "typical_minutes", "specialty", "preparation_zh", "preparation_en"):
        setattr(service, field, values[field])
    service.line = session.get(Line, values["line"])
    session.add(service)
    service.active = not values["closed"]
    _published(session, actor=actor, section="service", service=service.code)
    return service


def save_staff(session: Session, values: dict, *, actor: Actor, existing: Staff | None = None) -> Staff:
    """Create an account, or change one: role, name, room, specialties, disabled, a new password."""
    _unique(session, Staff, existing, username=values["username"] if existing is None else None)
    staff = existing
    if staff is None:
        staff = Staff(username=values["username"])
        session.add(staff)
    was_active = existing is None or staff.active
    staff.display_name, staff.role, staff.room = values["display_name"], Role(values["role"]), values["room"]
    staff.specialties = values["specialties"]
    staff.active = not values["disabled"]
    if values["password"]:
        staff.set_password(values["password"])
    session.flush()
    # A disabled account, or a new password (a leaked one, say), ends that person's sessions at once.
    if existing is not None and (values["password"] or (was_active and not staff.active)):
        staff_sessions.end_all(session, staff, staff_sessions.PASSWORD if values["password"]
                               else staff_sessions.DISABLED, actor=actor)
    # Never the password, not even hashed, in the audit trail.
    _published(session, actor=actor, section="staff", staff=staff.username, active=staff.active)
    return staff


def save_partner(session: Session, values: dict, *, actor: Actor,
                 existing: PartnerStore | None = None) -> PartnerStore:
    _unique(session, PartnerStore, existing, name=values["name"], code=values.get("code"))
    partner = existing
    if partner is None:
        partner = PartnerStore()
        session.add(partner)
    partner.name, partner.a_class, partner.code = values["name"], values["a_class"], values.get("code") or None
    partner.consultant = session.get(Staff, values["consultant"]) if values["consultant"] else None
    partner.active = not values["closed"]
    _published(session, actor=actor, section="partner", partner=partner.name)
    return partner
