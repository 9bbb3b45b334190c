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
    if settings is None:
        settings = ClinicSettings(
            name="Lobby",
            open_all_day=False,
            opens_at=dt.time(9, 0),
            closes_at=dt.time(21, 0),
            long_wait_minutes=20,
            kiosk_idle_seconds=90,
            staff_idle_minutes=30,
            early_arrival_minutes=120,
            late_arrival_minutes=30,
            mask_names_on_board=False,
            speech_enabled=True,
            speech_language="zh_CN",
            retention_days=365,
        )
    return settings


def clinic_zone(session: Session) -> ZoneInfo:
    return clock.zone(get_settings(session).timezone)


def clinic_day(session: Session, now: dt.datetime | None = None) -> dt.date:
    return clock.local_day(now or clock.utcnow(), clinic_zone(session))


def is_open(settings: ClinicSettings, now: dt.datetime) -> bool:
    """Whether the clinic takes check-ins at `now` (hours may span midnight)."""
    if settings.open_all_day:
        return True
    local = now.astimezone(clock.zone(settings.timezone)).time()
    opens, closes = settings.opens_at, settings.closes_at
    if opens <= closes:
        return opens <= local < closes
    return local >= opens or local < closes
