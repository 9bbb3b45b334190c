"""The clinic's settings row, and the clinic day and hours derived from it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ClinicSettings
from . import clock


def get_settings(session: Session) -> ClinicSettings:
    """The settings row; an unsaved default one when the clinic has none yet."""
    settings = session.scalars(select(ClinicSettings).order_by(ClinicSettings.id).limit(1)).first()
    return settings if settings is not None else ClinicSettings.with_defaults()


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
