"""The API's JSON bodies, checked by one schema layer (pydantic) before any view reads them.

A field of the wrong type is `field_type`, a missing name or phone `name_required` /
`phone_required`; the domain then checks what the values mean (a real mobile number, a
service that exists...) and says so with its own codes. Empty strings count as absent.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import pydantic
from flask import request
from pydantic import AfterValidator, BaseModel, ConfigDict, StrictStr

from ..domain.errors import ValidationError

Text = Annotated[StrictStr | None, AfterValidator(lambda value: value or None)]
# Absent and present-but-empty are one case for these: the message says which field to fill in.
REQUIRED_CODES = {"name": "name_required", "phone": "phone_required"}


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    def require(self, *names: str) -> None:
        for name in names:
            if getattr(self, name) is None:
                raise ValidationError(REQUIRED_CODES.get(name, "field_type"), field=name, name=name)


class CheckIn(Body):
    appointment_code: Text = None
    name: Text = None
    phone: Text = None
    kind: Any = "walk-in"  # the domain names what is wrong with it (kind_invalid)
    service: Text = None
    consultant: Text = None
    surgeon: Text = None
    surgery_date: Text = None


class Booking(Body):
    name: Text = None
    phone: Text = None
    starts_at: Any = None  # an ISO 8601 string; the domain says starts_at_invalid otherwise
    service: Text = None
    consultant: Text = None
    doctor: Text = None
    surgeon: Text = None
    surgery_date: Text = None
    partner: Text = None
    external_id: Text = None
    note: Text = None


class Transition(Body):
    to: Any = None  # one of visits.TARGETS, else status_invalid
    doctor: Text = None
    outcome: Any = None  # at "done": one of visits.OUTCOMES, else outcome_invalid (422)
    next_contact: Text = None  # at "done": YYYY-MM-DD
    services: Any = None  # at "done" with a deal: the treatments agreed (service codes)


class PartnerRegistration(Body):
    partner: Text = None  # the store's code
    name: Text = None
    phone: Text = None
    expected_day: Text = None  # YYYY-MM-DD, optional
    note: Text = None


class Reassign(Body):
    consultant: Text = None
    doctor: Text = None
    line: Text = None
    reason: Text = None


class ClientCare(Body):
    """PATCH /clients/<id>: only the fields present change; null clears one."""

    consultant: Text = None
    surgeon: Text = None
    surgery_date: Text = None
    partner: Text = None
    reason: Text = None


class Duty(Body):
    status: Any = None
    until: Any = None


def body(schema: type[Body]) -> Body:
    """The request's JSON object, checked against `schema`; bad_json or field_type otherwise."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError("bad_json")
    try:
        return schema.model_validate(data)
    except pydantic.ValidationError as err:
        name = str(err.errors()[0]["loc"][0])
        raise ValidationError("field_type", field=name, name=name) from None


def day_asked(session) -> dt.date:
    """The clinic day `?date=YYYY-MM-DD` names (today when absent), or date_invalid (422)."""
    from ..domain.settings import clinic_day
    from ..domain.text import parse_day

    raw = request.args.get("date")
    day = parse_day(raw) if raw else clinic_day(session)
    if day is None:
        raise ValidationError("date_invalid", field="date")
    return day
