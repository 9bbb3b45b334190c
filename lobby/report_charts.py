"""The trend page's charts: the figures of `domain.trends` drawn by `charts`, with their titles,
descriptions and labels in the reader's language (each chart's numbers are its table's)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from babel.dates import format_skeleton
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from .charts import Series, bars, columns, lines, number
from .domain.conversions import rate as conversions_rate
from .domain.trends import Trends
from .messages import channel_label

# Said under every conversion chart: what the rate is (domain/conversions.py).
DEFINITION = _l("Conversion = deals ÷ visitors seen by a consultant (the consultation started). Post-op visits "
                "and complaints are not counted; a visitor seen without an outcome recorded counts as seen, "
                "not as a deal.")
WEEKS = _l("Weeks run Monday to Sunday, each labelled by its first day; the first and the last week hold only "
           "the days of the range.")


def day_label(day: dt.date, short: bool = False) -> str:
    """Mar 3 / 3月3日, as the reader's language writes a day of the month; `short`: 3 / 3日."""
    return format_skeleton("d" if short else "MMMd", day, locale=get_locale() or "zh_CN")


def axis_labels(days: list[dt.date], by: str) -> list[str]:
    """Days name their month only at the first and where it changes (Feb 27, 28, Mar 1, 2); weeks
    always (Feb 23, Mar 2)."""
    return [day_label(d, short=by == "day" and i > 0 and d.month == days[i - 1].month) for i, d in enumerate(days)]


def _pivot(rows: list[list], periods: list[str]) -> list[Series]:
    """Long rows [from, to, name, seen, deals, pct] -> a series of rates per name, those with any."""
    found: dict[str, dict[str, float | None]] = {}
    for first, _last, name, _seen, _deals, pct in rows:
        found.setdefault(name, {})[first] = pct
    return [Series(name, [by_period.get(p) for p in periods]) for name, by_period in found.items()
            if any(v is not None for v in by_period.values())]


def _extremes(labels: list[str], values: list[float | None], percent: bool) -> str:
    known = [(v, label) for v, label in zip(values, labels, strict=True) if v is not None]
    if not known:
        return str(_("No data for these days."))
    high, low = max(known, key=lambda k: k[0]), min(known, key=lambda k: k[0])
    return _("Highest %(high)s (%(high_at)s), lowest %(low)s (%(low_at)s).", high=number(high[0], percent),
             high_at=high[1], low=number(low[0], percent), low_at=low[1])


def _listing(categories: list[str], values: list[float | None], percent: bool) -> str:
    return "; ".join(f"{c}: {number(v, percent)}" for c, v in zip(categories, values, strict=True)) or \
        str(_("No data for these days."))


@dataclass
class Chart:
    """A chart of the page: its heading, the SVG (or small multiples: one panel per consultant, say,
    each with its own heading) and what is said under it."""

    title: str
    svg: Markup | None = None
    panels: list[tuple[str, Markup]] = field(default_factory=list)
    note: str = ""


def trend_charts(trends: Trends) -> dict[str, Chart]:
    """Every chart of the trend page, by the key of the table behind it."""
    t = trends.tables
    periods = [row[0] for row in t["trend"].rows]
    days = [dt.date.fromisoformat(p) for p in periods]
    labels, names = axis_labels(days, trends.by), [day_label(d) for d in days]
    span = _("%(start)s to %(end)s", start=day_label(trends.start), end=day_label(trends.end))
    weekly = trends.by == "week"
    charts: dict[str, Chart] = {}

    seen = [row[4] for row in t["trend"].rows]
    deals = [row[5] for row in t["trend"].rows]
    rates = [row[9] for row in t["trend"].rows]
    overall = conversions_rate(sum(deals), sum(seen))
    title = _("Visitors seen and deals, by week") if weekly else _("Visitors seen and deals, by day")
    charts["trend"] = Chart(title, columns(
        "chart-trend", labels, [Series(_("Visitors seen"), seen, "tone-soft"), Series(_("Deals"), deals, "tone-0")],
        title=title, names=names, desc=_("%(span)s: %(seen)s visitors seen, %(deals)s deals.", span=span,
                                         seen=sum(seen), deals=sum(deals))),
        note=_("Visitors seen: a consultant started the consultation."))
    title = _("Conversion rate, by week") if weekly else _("Conversion rate, by day")
    charts["trend_rate"] = Chart(title, lines(
        "chart-trend-rate", labels, [Series(_("Conversion"), rates, "tone-0")], title=title, names=names,
        reference=overall, desc=f"{span}. {_extremes(names, rates, True)}"),
        note=_("%(definition)s Dashed: %(rate)s over the whole range.", definition=DEFINITION,
               rate=number(overall, True)))
    for key, what in (("trend_by_consultant", _("Conversion rate per consultant")),
                      ("trend_by_line", _("Conversion rate per line"))):
        chart = charts[key] = Chart(what, note=_("Conversion = deals ÷ visitors seen. Dashed: the whole clinic, "
                                                 "%(rate)s.", rate=number(overall, True)))
        totals = _totals(t[key].rows)
        for i, series in enumerate(_pivot(t[key].rows, periods)):
            got, had = totals[series.name]
            heading = _("%(name)s: %(rate)s (%(deals)s of %(seen)s)", name=series.name,
                        rate=number(conversions_rate(got, had), True), deals=got, seen=had)
            chart.panels.append((heading, lines(
                f"chart-{key.replace('_', '-')}-{i}", labels, [series], title=heading, names=names, width=300,
                height=150, values=False, reference=overall,
                desc=f"{what}, {series.name}, {span}. {_extremes(names, series.values, True)}")))

    short = _("Conversion = deals ÷ visitors seen by a consultant.")
    for key, what, label in (("conversion_by_consultant", _("Conversion by consultant"), str),
                             ("conversion_by_channel", _("Conversion by channel"), _channel),
                             ("conversion_by_line", _("Conversion by line"), str)):
        rows = [r for r in t[key].rows if r[3]]  # nobody seen (post-op, say): no rate to draw; in the table
        categories = [label(r[0]) for r in rows]
        values = [r[8] for r in rows]
        charts[key] = Chart(what, bars(
            f"chart-{key.replace('_', '-')}", categories, [Series(_("Conversion"), values, "tone-0")],
            percent=True, notes=[_("%(deals)s of %(seen)s", deals=r[4], seen=r[3]) for r in rows],
            title=what, desc=f"{span}. {_listing(categories, values, True)}"),
            note=_("%(definition)s After each bar: deals of visitors seen.", definition=short))
    rows = t["conversion_by_partner"].rows
    title = _("Partner stores: visitors and deals")
    charts["conversion_by_partner"] = Chart(title, bars(
        "chart-conversion-by-partner", [r[0] for r in rows],
        [Series(_("Visitors"), [r[1] for r in rows], "tone-soft"), Series(_("Deals"), [r[4] for r in rows], "tone-0")],
        notes=[number(r[8], True) for r in rows], title=title,
        desc=f"{span}. " + ("; ".join(_("%(store)s: %(visitors)s visitors, %(deals)s deals, %(rate)s", store=r[0],
                                        visitors=r[1], deals=r[4], rate=number(r[8], True)) for r in rows)
                            or str(_("No data for these days.")))),
        note=_("%(definition)s After each store: its conversion.", definition=short))
    return charts


def _totals(rows: list[list]) -> dict[str, tuple[int, int]]:
    """Long rows [from, to, name, seen, deals, pct] -> (deals, seen) of each name over the range."""
    found: dict[str, tuple[int, int]] = {}
    for _first, _last, name, seen, deals, _pct in rows:
        got, had = found.get(name, (0, 0))
        found[name] = (got + deals, had + seen)
    return found


def _channel(value: str) -> str:
    return str(_("Not asked")) if value == "-" else channel_label(value)
