"""Forms (Flask-WTF): what people type on the kiosk and the desk, checked before the domain sees it.

A field is checked by the same domain function the API's schema uses (a name, a
mobile number, an id of a row), so every surface says the same thing in the same
words: the domain's error code, in the reader's language, next to the field, and
every wrong field at once. The forms shared by two surfaces live here; the others
in kiosk/forms.py and admin/forms.py.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from werkzeug.datastructures import CombinedMultiDict
from wtforms import Field, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import StopValidation

from .domain import questionnaire as q
from .domain.errors import ValidationError as DomainInvalid
from .domain.phone import normalise_phone
from .domain.registration import CHANNELS, GENDERS, VisitorDetails
from .domain.text import clean_name, clean_text, parse_id
from .extensions import db
from .messages import message_for


class Form(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect already checks every POST (htmx sends the token as X-CSRFToken)

        def wrap_formdata(self, form, formdata):
            # A page's form posts form fields, never JSON: Flask-WTF would otherwise read a JSON body
            # too, with numbers where the checks expect text (and past the per-number throttle).
            if formdata is not _Auto:
                return formdata
            if request.method in ("POST", "PUT", "PATCH", "DELETE"):
                return CombinedMultiDict((request.files, request.form))
            return None

    def field_errors(self) -> dict[str, str]:
        """{field name: its first message}, as the templates show them."""
        return {name: messages[0] for name, messages in self.errors.items() if messages}


def refuse(code: str, **params):
    """Stop checking the field, with the domain's message for `code`."""
    raise StopValidation(message_for(code, **params))


def domain(clean: Callable, optional: bool = False):
    """Check a field with a domain function; the field keeps what it returns (cleaned, normalised)."""
    def check(form, field: Field):
        if field.data is not None and not isinstance(field.data, str):
            refuse("field_type", name=field.name)
        if optional and not (field.data or "").strip():
            field.data = None
            return
        try:
            field.data = clean(field.data)
        except DomainInvalid as err:
            refuse(err.code, **err.params)

    return check


def choice(allowed, required: bool = False, required_code: str = "choice_required"):
    """One of `allowed` (empty is None, or `required_code` when required)."""
    def check(form, field: Field):
        field.data = field.data or None
        if field.data is None:
            if required:
                refuse(required_code)
            return
        if field.data not in allowed:
            refuse("choice_invalid")

    return check


def row_of(model, code: str = "choice_invalid", **where):
    """The id of an existing row (active, of a role...) or `code`; empty is None."""
    def check(form, field: Field):
        if field.data in (None, ""):
            field.data = None
            return
        wanted = parse_id(field.data)
        found = None
        if wanted is not None:
            found = db.session.scalar(db.select(model.id).where(model.id == wanted, *[
                (getattr(model, k).in_(v) if isinstance(v, tuple) else getattr(model, k) == v)
                for k, v in where.items()]))
        if found is None:
            refuse(code)
        field.data = found

    return check


def surgery_date(form, field: Field):
    """A surgery's day (YYYY-MM-DD, not in the future), or None when empty."""
    from .domain.lookups import surgery_day
    from .domain.settings import clinic_day

    try:
        field.data = surgery_day((field.data or "").strip(), clinic_day(db.session))
    except DomainInvalid as err:
        refuse(err.code)


def birth_year(required: bool):
    def check(form, field: Field):
        from .domain import clock

        raw = (field.data or "").strip()
        if not raw:
            field.data = None
            if required:
                refuse("birth_year_required")
            return
        year = parse_id(raw)
        if year is None or not 1900 <= year <= clock.utcnow().year:
            refuse("birth_year_invalid")
        field.data = year

    return check


class VisitorForm(Form):
    """Who a visitor is and what they came for: the kiosk's walk-in page, the desk's registration,
    the desk's correction of a client. `full` asks for the walk-in's whole profile."""

    name = StringField(validators=[domain(clean_name)])
    phone = StringField(validators=[domain(normalise_phone)])
    gender = StringField()
    birth_year = StringField()
    channel = StringField(validators=[choice(CHANNELS)])
    partner = StringField()
    service = StringField()
    consultant = StringField()
    # Post-op visits registered by staff: who operated, and when.
    surgeon = StringField()
    surgery_date = StringField(validators=[surgery_date])

    def __init__(self, *args, full: bool = True, **kwargs):
        from .models import PartnerStore, Role, Service, Staff

        super().__init__(*args, **kwargs)
        self.full = full
        self.gender.validators = [choice(GENDERS, required=full)]
        self.birth_year.validators = [birth_year(required=full)]
        self.partner.validators = [row_of(PartnerStore, active=True)]
        self.service.validators = [row_of(Service, active=True)] + (
            [self._service_required] if full else [])
        self.consultant.validators = [row_of(Staff, active=True, role=Role.CONSULTANT)]
        self.surgeon.validators = [row_of(Staff, code="unknown_doctor", active=True, role=Role.DOCTOR)]

    @staticmethod
    def _service_required(form, field):
        if field.data is None:
            refuse("service_required")

    def details(self) -> VisitorDetails:
        return VisitorDetails(name=self.name.data, phone=self.phone.data, gender=self.gender.data,
                              birth_year=self.birth_year.data, channel=self.channel.data,
                              partner_id=self.partner.data, service_id=self.service.data,
                              requested_id=self.consultant.data, surgeon_id=self.surgeon.data,
                              surgery_date=self.surgery_date.data)


class ReturningForm(VisitorForm):
    """A returning or after-surgery visitor on the tablet: mobile, name and year of birth (the second
    factor), and optionally the service chosen."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, full=False, **kwargs)
        self.birth_year.validators = [birth_year(required=True)]


def _many(allowed):
    """Options of `allowed`, or an explicit "none" (q.NONE) alone."""
    def check(form, field):
        chosen = [v for v in (field.data or []) if v]
        if any(v not in allowed and v != q.NONE for v in chosen):
            refuse("choice_invalid")
        if q.NONE in chosen and len(chosen) > 1:
            refuse("none_and_other")
        field.data = [q.NONE] if q.NONE in chosen else [v for v in allowed if v in chosen]

    return check


def _text(limit: int):
    return domain(lambda value: clean_text(value, field="", limit=limit) or "")


class QuestionnaireForm(Form):
    """The health questionnaire, shared by the kiosk and the desk (answers checked, flags derived).

    Every mistake is reported at once, each next to its own question. The history questions may be
    left blank (staff then read "not answered") or answered "none". `asks_pregnancy` False: the
    question is not shown, and stored as not asked.
    """

    allergies = SelectMultipleField(validate_choice=False, validators=[_many(q.ALLERGIES)])
    chronic = SelectMultipleField(validate_choice=False, validators=[_many(q.CHRONIC)])
    medication = SelectMultipleField(validate_choice=False, validators=[_many(q.MEDICATION)])
    pregnancy = StringField()
    smoking = StringField(validators=[choice(q.SMOKING, required=True, required_code="smoking_required")])
    allergy_detail = StringField(validators=[_text(q.TEXTS["allergy_detail"])])
    surgery_history = TextAreaField(validators=[_text(q.TEXTS["surgery_history"])])
    procedure_history = TextAreaField(validators=[_text(q.TEXTS["procedure_history"])])
    medication_detail = StringField(validators=[_text(q.TEXTS["medication_detail"])])
    surgery_none = StringField()
    consent_privacy = StringField()
    consent_photos = StringField()
    consent_contact = StringField()

    def __init__(self, *args, asks_pregnancy: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.asks_pregnancy = asks_pregnancy
        self.pregnancy.validators = [choice(q.PREGNANCY, required=True, required_code="pregnancy_required")] \
            if asks_pregnancy else []

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not self.asks_pregnancy:
            self.pregnancy.data = q.NOT_ASKED
        self.surgery_none.data = q.yes(self.surgery_none.data)
        if self.surgery_none.data and (self.surgery_history.data or self.procedure_history.data):
            self.surgery_none.errors = [message_for("none_and_other")]
            valid = False
        for name, detail in (("allergies", "allergy_detail"), ("medication", "medication_detail")):
            if getattr(self, name).data == [q.NONE] and getattr(self, detail).data:
                getattr(self, name).errors = [message_for("none_and_other")]
                valid = False
        return valid

    @staticmethod
    def validate_consent_privacy(form, field):
        if not q.yes(field.data):
            refuse("consent_required")

    def answers(self) -> tuple[dict, list[str], dict]:
        """(answers, flags, consents) once valid."""
        answers = {name: getattr(self, name).data for name in q.ANSWER_FIELDS}
        consents = {topic: q.yes(getattr(self, f"consent_{topic}").data) for topic in ("privacy", "photos", "contact")}
        return answers, q.flags_of(answers), consents
