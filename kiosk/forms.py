"""The kiosk's own forms (the visitor's details and the questionnaire are shared: lobby/forms.py)."""

from __future__ import annotations

from wtforms import StringField

from lobby.domain.appointments import clean_code
from lobby.domain.phone import normalise_phone
from lobby.forms import Form, domain


class AppointmentLookupForm(Form):
    """Mobile number and the 6-digit booking code, typed on the keypad."""

    phone = StringField(validators=[domain(normalise_phone)])
    code = StringField(validators=[domain(clean_code)])


class CompanionForm(Form):
    """The ticket number of the visitor a companion came with (A007)."""

    ticket = StringField()
