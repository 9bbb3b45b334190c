"""The clinic's own settings, edited by its admins: each change checked, audited and published."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import ClinicSettings, Line, PartnerStore, Role, Service, Staff
from . import events, staff_sessions
from .audit import Actor, audit
from .registration import FormInvalid
from .settings import get_settings
from .text import parse_id, visible

SPECIALTIES = ("skin", "injectables", "eyes", "nose", "body")
LANGUAGES = ("zh_CN", "en")
# (field, low, high): thresholds a clinic may set, within sensible bounds.
NUMBERS = (("long_wait_minutes", 1, 240), ("kiosk_idle_seconds", 15, 900), ("staff_idle_minutes", 5, 720),
           ("early_arrival_minutes", 0, 720), ("late_arrival_minutes", 0, 720), ("retention_days", 30, 3650))


class _Checker:
    """Collects every wrong field of a form, then raises them together."""

    def __init__(self, form: Mapping):
        self.form = form
        self.errors: dict[str, str] = {}

    def text(self, name: str, limit: int, required: bool = True) -> str | None:
        value = visible(self.form.get(name))
        if not value:
            if required:
                self.errors[name] = "value_required"
            return None
        if len(value) > limit:
            self.errors[name] = "value_too_long"
        return value

    def number(self, name: str, low: int, high: int) -> int | None:
        raw = str(self.form.get(name) or "").strip()
        number = 0 if raw == "0" else parse_id(raw)
        if number is None or not low <= number <= high:
            self.errors[name] = "number_out_of_range"
            return None
        return number

    def time(self, name: str) -> dt.time | None:
        try:
            return dt.time.fromisoformat(str(self.form.get(name) or ""))
        except ValueError:
            self.errors[name] = "time_invalid"
            return None

    def flag(self, name: str) -> bool:
        return self.form.get(name) in ("1", "on", "true", "yes")

    def done(self) -> None:
        if self.errors:
            raise FormInvalid(self.errors)


def update_clinic(session: Session, form: Mapping, *, actor: Actor) -> ClinicSettings:
    check = _Checker(form)
    name = check.text("name", 120)
    timezone = check.text("timezone", 64, required=False)
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            check.errors["timezone"] = "timezone_invalid"
    opens, closes = check.time("opens_at"), check.time("closes_at")
    numbers = {field: check.number(field, low, high) for field, low, high in NUMBERS}
    language = form.get("speech_language")
    if language not in LANGUAGES:
        check.errors["speech_language"] = "choice_invalid"
    check.done()
    settings = get_settings(session)
    session.add(settings)
    settings.name, settings.timezone = name, timezone or None
    settings.opens_at, settings.closes_at = opens, closes
    settings.open_all_day = check.flag("open_all_day")
    settings.mask_names_on_board = check.flag("mask_names_on_board")
    settings.speech_enabled = check.flag("speech_enabled")
    settings.speech_language = language
    for field, value in numbers.items():
        setattr(settings, field, value)
    audit(session, actor, "settings", None, section="clinic")
    events.record(session, "settings.changed")
    session.flush()
    return settings


def save_line(session: Session, form: Mapping, *, actor: Actor, existing: Line | None = None) -> Line:
    line = existing
    check = _Checker(form)
    code = check.text("code", 20)
    prefix = (check.text("prefix", 3) or "").upper()
    if prefix and not re.fullmatch(r"[A-Z]{1,3}", prefix):
        check.errors["prefix"] = "prefix_invalid"
    name_zh, name_en = check.text("name_zh", 60), check.text("name_en", 60)
    colour = check.text("colour", 9, required=False) or "#8a6f5a"
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", colour):
        check.errors["colour"] = "colour_invalid"
    for field, value in (("code", code), ("prefix", prefix)):
        clash = session.scalar(select(Line.id).where(getattr(Line, field) == value))
        if value and clash is not None and (line is None or clash != line.id):
            check.errors[field] = "already_used"
    check.done()
    if line is None:
        position = (session.scalar(select(func.max(Line.position))) or 0) + 1
        line = Line(position=position)
        session.add(line)
    line.code, line.prefix, line.name_zh, line.name_en, line.colour = code, prefix, name_zh, name_en, colour
    line.post_op, line.active = check.flag("post_op"), not check.flag("closed")
    session.flush()
    audit(session, actor, "settings", None, section="line", line=code)
    events.record(session, "settings.changed")
    return line


def save_service(session: Session, form: Mapping, *, actor: Actor, existing: Service | None = None) -> Service:
    service = existing
    check = _Checker(form)
    code = check.text("code", 40)
    name_zh, name_en = check.text("name_zh", 80), check.text("name_en", 80)
    minutes = check.number("typical_minutes", 1, 480)
    line_id = parse_id(form.get("line"))
    line = session.get(Line, line_id) if line_id else None
    if line is None:
        check.errors["line"] = "choice_invalid"
    specialty = form.get("specialty") or None
    if specialty is not None and specialty not in SPECIALTIES:
        check.errors["specialty"] = "choice_invalid"
    clash = session.scalar(select(Service.id).where(Service.code == code)) if code else None
    if clash is not None and (service is None or clash != service.id):
        check.errors["code"] = "already_used"
    prep_zh, prep_en = check.text("preparation_zh", 200, False), check.text("preparation_en", 200, False)
    check.done()
    if service is None:
        service = Service()
        session.add(service)
    service.code, service.name_zh, service.name_en, service.line = code, name_zh, name_en, line
    service.specialty, service.typical_minutes = specialty, minutes
    service.preparation_zh, service.preparation_en = prep_zh, prep_en
    service.active = not check.flag("closed")
    session.flush()
    audit(session, actor, "settings", None, section="service", service=code)
    return service


def save_staff(session: Session, form: Mapping, *, actor: Actor, existing: Staff | None = None) -> Staff:
    """Create an account, or change one: role, name, room, specialties, disabled, a new password."""
    staff = existing
    check = _Checker(form)
    username = check.text("username", 40) if staff is None else staff.username
    if staff is None and username and not re.fullmatch(r"[A-Za-z0-9_.-]+", username):
        check.errors["username"] = "username_invalid"
    if staff is None and username and session.scalar(select(Staff.id).where(Staff.username == username)):
        check.errors["username"] = "already_used"
    display_name = check.text("display_name", 60)
    role = form.get("role")
    if role not in {r.value for r in Role}:
        check.errors["role"] = "choice_invalid"
    password = str(form.get("password") or "")
    if (staff is None or password) and len(password) < 8:
        check.errors["password"] = "password_too_short"
    specialties = [s for s in (form.getlist("specialties") if hasattr(form, "getlist") else []) if s]
    if any(s not in SPECIALTIES for s in specialties):
        check.errors["specialties"] = "choice_invalid"
    room = check.text("room", 40, required=False)
    check.done()
    if staff is None:
        staff = Staff(username=username)
        session.add(staff)
    staff.display_name, staff.role, staff.room, staff.specialties = display_name, Role(role), room, specialties
    was_active = staff.active
    staff.active = not check.flag("disabled")
    if password:
        staff.set_password(password)
    session.flush()
    # A disabled account, or a new password (a leaked one, say), ends that person's sessions at once.
    if existing is not None and (password or (was_active and not staff.active)):
        staff_sessions.end_all(session, staff, staff_sessions.PASSWORD if password else staff_sessions.DISABLED)
    # Never the password, not even hashed, in the audit trail.
    audit(session, actor, "settings", None, section="staff", staff=staff.username, active=staff.active)
    events.record(session, "settings.changed")
    return staff


def save_partner(session: Session, form: Mapping, *, actor: Actor,
                 existing: PartnerStore | None = None) -> PartnerStore:
    partner = existing
    check = _Checker(form)
    name = check.text("name", 80)
    clash = session.scalar(select(PartnerStore.id).where(PartnerStore.name == name)) if name else None
    if clash is not None and (partner is None or clash != partner.id):
        check.errors["name"] = "already_used"
    consultant = None
    if form.get("consultant"):
        consultant_id = parse_id(form.get("consultant"))
        consultant = session.get(Staff, consultant_id) if consultant_id else None
        if consultant is None or consultant.role != Role.CONSULTANT:
            check.errors["consultant"] = "choice_invalid"
    check.done()
    if partner is None:
        partner = PartnerStore()
        session.add(partner)
    partner.name, partner.a_class, partner.consultant = name, check.flag("a_class"), consultant
    partner.active = not check.flag("closed")
    session.flush()
    audit(session, actor, "settings", None, section="partner", partner=name)
    return partner
