"""The kiosk's own forms (the visitor's details and the questionnaire are shared: lobby/forms.py)."""

from __future__ import annotations

import re

from wtforms import StringField

from lobby.domain.phone import normalise_phone
from lobby.forms import Form, domain, refuse


def _booking_code(form, field):
    field.data = (field.data or "").strip()
    if not re.fullmatch(r"[0-9]{6}", field.data):
        refuse("appointment_code_invalid")


class AppointmentLookupForm(Form):
    """Mobile number and the 6-digit booking code, typed on the keypad."""

    phone = StringField(validators=[domain(normalise_phone)])
    code = StringField(validators=[_booking_code])


class CompanionForm(Form):
    """The ticket number of the visitor a companion came with (A007)."""

    ticket = StringField()
