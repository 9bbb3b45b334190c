"""The desk's forms: settings, bookings, reassignment, notes, the login. (The visitor's details and the
questionnaire are shared with the kiosk: lobby/forms.py.)"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wtforms import SelectMultipleField, StringField

from lobby.domain.lookups import CARE
from lobby.domain.phone import normalise_phone
from lobby.domain.questionnaire import yes
from lobby.domain.settings import LANGUAGES, NUMBERS, SPECIALTIES
from lobby.domain.text import clean_name, clean_text, parse_day, parse_id, visible
from lobby.forms import Form, choice, domain, refuse, row_of, surgery_date
from lobby.models import Line, PartnerStore, Role, Service, Staff


def text(limit: int, required: bool = True):
    """Visible text of at most `limit` characters (None when empty and optional)."""
    return domain(lambda value: clean_text(value, field="", limit=limit, required=required,
                                           required_code="value_required", too_long_code="value_too_long"))


def number(low: int, high: int):
    def check(form, field):
        raw = str(field.data or "").strip()
        value = 0 if raw == "0" else parse_id(raw)
        if value is None or not low <= value <= high:
            refuse("number_out_of_range")
        field.data = value

    return check


def clock_time(form, field):
    try:
        field.data = dt.time.fromisoformat(str(field.data or ""))
    except ValueError:
        refuse("time_invalid")


def timezone(form, field):
    field.data = visible(field.data) or None
    if field.data:
        try:
            ZoneInfo(field.data)
        except (ZoneInfoNotFoundError, ValueError):
            refuse("timezone_invalid")


class Flag(StringField):
    """A checkbox: ticked or not."""

    def process_formdata(self, valuelist):
        self.data = bool(valuelist) and yes(valuelist[0])


def _number(name: str) -> StringField:
    """A clinic threshold, within the bounds settings.NUMBERS sets for it."""
    low, high = NUMBERS[name]
    return StringField(validators=[number(low, high)])


class ClinicForm(Form):
    name = StringField(validators=[text(120)])
    timezone = StringField(validators=[timezone])
    opens_at = StringField(validators=[clock_time])
    closes_at = StringField(validators=[clock_time])
    speech_language = StringField(validators=[choice(LANGUAGES, required=True, required_code="choice_invalid")])
    open_all_day = Flag()
    mask_names_on_board = Flag()
    speech_enabled = Flag()
    ownership_rule = StringField(validators=[choice(("first", "latest"), required=True, required_code="choice_invalid")])
    rotation_counts_designated = Flag()
    long_wait_minutes = _number("long_wait_minutes")
    kiosk_idle_seconds = _number("kiosk_idle_seconds")
    staff_idle_minutes = _number("staff_idle_minutes")
    early_arrival_minutes = _number("early_arrival_minutes")
    late_arrival_minutes = _number("late_arrival_minutes")
    retention_days = _number("retention_days")
    retell_threshold_minutes = _number("retell_threshold_minutes")


class LineForm(Form):
    code = StringField(validators=[text(20)])
    prefix = StringField(validators=[text(3)])
    name_zh = StringField(validators=[text(60)])
    name_en = StringField(validators=[text(60)])
    colour = StringField(validators=[text(9, required=False)])
    post_op = Flag()
    closed = Flag()

    @staticmethod
    def validate_prefix(form, field):
        field.data = (field.data or "").upper()
        if not re.fullmatch(r"[A-Z]{1,3}", field.data):
            refuse("prefix_invalid")

    @staticmethod
    def validate_colour(form, field):
        field.data = field.data or "#8a6f5a"
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", field.data):
            refuse("colour_invalid")


class ServiceForm(Form):
    code = StringField(validators=[text(40)])
    name_zh = StringField(validators=[text(80)])
    name_en = StringField(validators=[text(80)])
    typical_minutes = StringField(validators=[number(1, 480)])
    line = StringField(validators=[row_of(Line)])
    specialty = StringField(validators=[choice(SPECIALTIES)])
    preparation_zh = StringField(validators=[text(200, required=False)])
    preparation_en = StringField(validators=[text(200, required=False)])
    closed = Flag()

    @staticmethod
    def validate_line(form, field):
        if field.data is None:
            refuse("choice_invalid")


class StaffForm(Form):
    username = StringField()
    display_name = StringField(validators=[text(60)])
    role = StringField(validators=[choice([r.value for r in Role], required=True, required_code="choice_invalid")])
    password = StringField()
    specialties = SelectMultipleField(validate_choice=False)
    room = StringField(validators=[text(40, required=False)])
    disabled = Flag()

    def __init__(self, *args, existing: Staff | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.existing = existing

    def validate_username(self, field):
        if self.existing is not None:
            field.data = self.existing.username
            return
        field.data = visible(field.data)
        if not field.data:
            refuse("value_required")
        if len(field.data) > 40:
            refuse("value_too_long")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", field.data):
            refuse("username_invalid")

    def validate_password(self, field):
        field.data = str(field.data or "")
        if (self.existing is None or field.data) and len(field.data) < 8:
            refuse("password_too_short")

    @staticmethod
    def validate_specialties(form, field):
        chosen = [s for s in field.data or [] if s]
        if any(s not in SPECIALTIES for s in chosen):
            refuse("choice_invalid")
        field.data = chosen


class PartnerForm(Form):
    name = StringField(validators=[text(80)])
    code = StringField(validators=[text(20, required=False)])
    consultant = StringField(validators=[row_of(Staff, role=Role.CONSULTANT)])
    a_class = Flag()
    closed = Flag()


SETTINGS_FORMS = {"clinic": ClinicForm, "lines": LineForm, "services": ServiceForm, "staff": StaffForm,
                  "partners": PartnerForm}


class CareForm(Form):
    """Who looks after a client: own consultant, operating surgeon and surgery date, partner store."""

    consultant = StringField(validators=[row_of(Staff, code="unknown_consultant", active=True, role=Role.CONSULTANT)])
    surgeon = StringField(validators=[row_of(Staff, code="unknown_doctor", active=True, role=Role.DOCTOR)])
    surgery_date = StringField(validators=[surgery_date])
    partner = StringField(validators=[row_of(PartnerStore, active=True)])
    reason = StringField()


class LoginForm(Form):
    username = StringField(filters=[lambda value: (value or "").strip()])
    password = StringField(filters=[lambda value: value or ""])


class ReassignForm(Form):
    """换人咨询: another consultant (or doctor) or another line; the reason is the domain's to check.
    (to_: the list's own filters, sent along with every action, are called consultant and line.)"""

    to_consultant = StringField(validators=[row_of(Staff, code="unknown_consultant", active=True, role=CARE)])
    to_line = StringField(filters=[lambda value: value or None])
    reason = StringField()


def _day(form, field):
    field.data = parse_day(field.data)
    if field.data is None:
        refuse("date_invalid")


class BookingForm(Form):
    """An appointment booked or changed at the desk (the domain checks what only it can: a time past)."""

    name = StringField(validators=[domain(clean_name)])
    phone = StringField(validators=[domain(normalise_phone)])
    date = StringField(validators=[_day])
    time = StringField(validators=[clock_time])
    service = StringField(validators=[row_of(Service, active=True)])
    consultant = StringField(validators=[row_of(Staff, active=True, role=CARE)])
    id = StringField(filters=[lambda value: value or None])

    @staticmethod
    def validate_service(form, field):
        if field.data is None:
            refuse("service_required")
