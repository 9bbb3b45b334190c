"""Figures over time: visitors, visitors seen, deals and the conversion rate (see `conversions`) per
day or per week over a range of clinic days, overall and per consultant and line; and the range's
conversions per consultant, channel, partner store and line. What the trend charts draw and what
their exports write.

Buckets: one per clinic day for ranges up to DAILY_UP_TO days, else one per week. Weeks run Monday to
Sunday (as a Chinese clinic's 周报); the first and last week keep only the range's own days, so a
bucket is never counted outside the range asked for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..models import Visit
from . import conversions
from .reports import Table

DAILY_UP_TO = 31
DEFAULT_DAYS = 14
BY = ("day", "week")


@dataclass(frozen=True)
class Bucket:
    """A period of whole clinic days, first..last inclusive."""

    first: dt.date
    last: dt.date


@dataclass
class Trends:
    start: dt.date
    end: dt.date
    by: str
    buckets: list[Bucket]
    tables: dict[str, Table]


def default_range(today: dt.date, days: int = DEFAULT_DAYS) -> tuple[dt.date, dt.date]:
    """The last `days` clinic days, ending today."""
    return today - dt.timedelta(days=days - 1), today


def choose_by(start: dt.date, end: dt.date, wanted: str | None = None) -> str:
    """"day" or "week": as asked, else by day up to DAILY_UP_TO days and by week beyond."""
    if wanted in BY:
        return wanted
    return "day" if (end - start).days + 1 <= DAILY_UP_TO else "week"


def buckets(start: dt.date, end: dt.date, by: str) -> list[Bucket]:
    """The periods of start..end: each day, or each Monday-to-Sunday week clipped to the range."""
    found, first = [], start
    while first <= end:
        last = first if by == "day" else min(end, first + dt.timedelta(days=6 - first.weekday()))
        found.append(Bucket(first, last))
        first = last + dt.timedelta(days=1)
    return found


def _split(periods: list[Bucket], visits: list[Visit]) -> list[list[Visit]]:
    """The visits of each period (one pass: a year by week is 53 periods of thousands of visits)."""
    where = {period.first + dt.timedelta(days=d): i for i, period in enumerate(periods)
             for d in range((period.last - period.first).days + 1)}
    split: list[list[Visit]] = [[] for _ in periods]
    for visit in visits:
        if visit.clinic_day in where:
            split[where[visit.clinic_day]].append(visit)
    return split


def _series_table(key: str, name: str, periods: list[Bucket], split: list[list[Visit]],
                  group: Callable[[Visit], str | None]) -> Table:
    """Long form: one row per period and group, every group in every period (a zero is a figure too)."""
    names = sorted({g for inside in split for g in map(group, inside) if g is not None})
    rows = []
    for period, inside in zip(periods, split, strict=True):
        tallies = conversions.tally_by(inside, group)
        for g in names:
            t = tallies.get(g, conversions.Tally())
            rows.append([period.first.isoformat(), period.last.isoformat(), g, t.seen, t.deals, t.conversion_pct])
    return Table(key, ["from", "to", name, "seen", "deals", "conversion_pct"], rows)


def _range_table(key: str, name: str, visits: list[Visit], group: Callable[[Visit], str | None]) -> Table:
    return Table(key, [name, *conversions.COLUMNS],
                 [[g, *t.row()] for g, t in conversions.tally_by(visits, group).items()])


def build_trends(session: Session, start: dt.date, end: dt.date, *, by: str | None = None,
                 locale: str = "zh") -> Trends:
    """The figures of clinic days start..end (inclusive), by day or by week (see choose_by)."""
    by = choose_by(start, end, by)
    periods = buckets(start, end, by)
    visits = conversions.load_visits(session, start, end)

    def line_of(visit: Visit) -> str:
        return visit.line.name(locale)

    tables: dict[str, Table] = {}
    split = _split(periods, visits)
    tables["trend"] = Table("trend", ["from", "to", *conversions.COLUMNS], [
        [period.first.isoformat(), period.last.isoformat(), *conversions.tally(inside).row()]
        for period, inside in zip(periods, split, strict=True)])
    tables["trend_by_consultant"] = _series_table("trend_by_consultant", "consultant", periods, split,
                                                  conversions.consultant_of)
    tables["trend_by_line"] = _series_table("trend_by_line", "line", periods, split, line_of)
    tables["conversion_by_consultant"] = _range_table("conversion_by_consultant", "consultant", visits,
                                                      conversions.consultant_of)
    tables["conversion_by_channel"] = _range_table("conversion_by_channel", "channel", visits,
                                                   conversions.channel_of)
    tables["conversion_by_partner"] = _range_table("conversion_by_partner", "partner", visits,
                                                   conversions.partner_of)
    tables["conversion_by_line"] = _range_table("conversion_by_line", "line", visits, line_of)
    return Trends(start, end, by, periods, tables)
