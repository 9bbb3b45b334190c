"""The day's figures and the trends over a range: charts and the tables behind them, exported as CSV
or Excel; the face-to-face table (一日当面咨询表) with its headings and ordinals in the reader's language."""

from __future__ import annotations

import csv
import datetime as dt
import io

from flask import Response, abort, render_template
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from htmx_flask import request

from lobby.domain import trends as trend_figures
from lobby.domain.reports import build_report
from lobby.domain.settings import clinic_day, get_settings
from lobby.domain.text import parse_day
from lobby.extensions import db
from lobby.messages import message_for
from lobby.presenters import locale_code

from . import bp
from .auth import DESK, roles_required

MAX_DAYS = 366
# The tables of the trend page (exported over its range, by day or week); the others are the day's.
_TREND_TABLES = ("trend", "trend_by_consultant", "trend_by_line", "conversion_by_consultant",
                 "conversion_by_channel", "conversion_by_partner", "conversion_by_line")


def _range() -> tuple[dt.date, dt.date]:
    today = clinic_day(db.session)
    start = parse_day(request.args.get("start")) or today
    end = parse_day(request.args.get("end")) or start
    if end < start:
        start, end = end, start
    return start, min(end, start + dt.timedelta(days=MAX_DAYS))


@bp.get("/reports", endpoint="reports")
@roles_required(*DESK)
def reports():
    start, end = _range()
    report = build_report(db.session, start, end, locale=locale_code())
    from lobby import messages

    return render_template("admin/reports.html", report=report, settings=get_settings(db.session), me=current_user,
                           is_desk=True, kind_text=messages.kind_label, status_text=messages.status_label,
                           outcome_text=messages.outcome_label, **_helpers(), **_what_if(start))


@bp.get("/reports/trends", endpoint="report_trends")
@roles_required(*DESK)
def report_trends():
    """Figures over a range of clinic days (default: the last 14, ending today), by day or by week."""
    from lobby.report_charts import WEEKS, trend_charts

    start, end = _trend_range()
    trends = trend_figures.build_trends(db.session, start, end, by=request.args.get("by"), locale=locale_code())
    return render_template("admin/trends.html", trends=trends, charts=trend_charts(trends), weeks_note=WEEKS,
                           settings=get_settings(db.session), me=current_user, is_desk=True, **_helpers())


def _trend_range() -> tuple[dt.date, dt.date]:
    first, last = trend_figures.default_range(clinic_day(db.session))
    start = parse_day(request.args.get("start")) or first
    end = parse_day(request.args.get("end")) or max(start, last)
    if end < start:
        start, end = end, start
    return start, min(end, start + dt.timedelta(days=MAX_DAYS))


# The headings of the tables behind the charts (the exports keep these keys: stable for spreadsheets).
COLUMN_LABELS = {
    "hour": _l("Hour"), "visits": _l("Visits"), "line": _l("Line"), "kind": _l("Kind"), "channel": _l("Channel"),
    "partner": _l("Partner store"), "called": _l("Called"), "median_min": _l("Median (min)"),
    "p90_min": _l("90th percentile (min)"), "longest_min": _l("Longest (min)"), "outcome": _l("Outcome"),
    "appointments": _l("Appointments"), "consultant": _l("Consultant"), "served": _l("Served"),
    "rotation_first_visits": _l("First visits by rotation"), "reassigned_away": _l("Reassigned away"),
    "avg_consultation_min": _l("Average consultation (min)"), "visitors_compared": _l("Visitors compared"),
    "mean_absolute_error_min": _l("Mean difference (min)"), "within_5_min_pct": _l("Within 5 min (%)"),
    "above_upper_pct": _l("Above the upper bound (%)"), "day": _l("Day"), "time": _l("Time"),
    "ticket": _l("Ticket"), "visitor": _l("Visitor"), "phone": _l("Phone"), "first_visit": _l("First visit"),
    "treatment": _l("Treatment"), "order": _l("Order in the consultant's day"), "rule": _l("Triage rule"),
    "status": _l("Status"), "received": _l("Received"), "first_visits": _l("First visits"),
    "first_visit_order": _l("Order of the first visits"), "deals": _l("Deals"), "visitors": _l("Visitors"),
    "seen": _l("Seen"), "no_deal": _l("No deal"), "thinking": _l("Thinking it over"),
    "no_outcome": _l("No outcome recorded"), "conversion_pct": _l("Conversion (%)"), "from": _l("From"),
    "to": _l("To"),
}
# The English ordinal suffixes by CLDR's ordinal category; a language without them says "第3位".
ORDINALS = {"one": _l("%(n)sst"), "two": _l("%(n)snd"), "few": _l("%(n)srd"), "other": _l("%(n)sth")}


def column_label(key: str) -> str:
    if key.startswith("over_") and key.endswith("_min"):
        return _("Over %(minutes)s min", minutes=key[5:-4])
    return str(COLUMN_LABELS.get(key, key))


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 11th / 第1位...: a visitor's place in her consultant's day."""
    locale = get_locale()
    form = locale.ordinal_form(n) if locale is not None else "other"
    return str(ORDINALS.get(form, ORDINALS["other"])) % {"n": n}


def cell(value) -> str:
    """A table cell as the page shows it (the exports write the value itself)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "—"
    return str(value)


def _helpers() -> dict:
    from lobby.charts import number
    from lobby.report_charts import DEFINITION

    return {"column_label": column_label, "ordinal": ordinal, "cell": cell, "definition": DEFINITION,
            "percent": lambda value: number(value, percent=True)}


def _exported(value):
    return ", ".join(map(str, value)) if isinstance(value, list) else value


def _what_if(day: dt.date) -> dict:
    """"With one more consultant on duty 14:00–18:00...": the day replayed both ways, on request."""
    wanted = {"what_if_start": request.args.get("what_if_start", "14:00"),
              "what_if_end": request.args.get("what_if_end", "18:00"), "what_if": None, "what_if_error": None}
    if "what_if_start" not in request.args:
        return wanted
    try:
        starts, ends = (dt.time.fromisoformat(wanted[k]) for k in ("what_if_start", "what_if_end"))
    except (TypeError, ValueError):
        starts = ends = None
    if starts is None or ends <= starts:
        wanted["what_if_error"] = message_for("what_if_times")
        return wanted
    from lobby.replay import what_if

    wanted["what_if"] = what_if(db.session, day, starts.strftime("%H:%M"), ends.strftime("%H:%M"))
    if wanted["what_if"] is None:
        wanted["what_if_error"] = message_for("what_if_empty")
    return wanted


@bp.get("/reports/export", endpoint="export_report")
@roles_required(*DESK)
def export_report():
    """One table as CSV (UTF-8 with BOM, so Excel shows Chinese) or as an .xlsx workbook."""
    key = request.args.get("table", "")
    if key in _TREND_TABLES:
        start, end = _trend_range()
        table = trend_figures.build_trends(db.session, start, end, by=request.args.get("by"),
                                           locale=locale_code()).tables[key]
    else:
        start, end = _range()
        table = build_report(db.session, start, end, locale=locale_code()).tables.get(key)
    if table is None:
        abort(404)
    name = f"lobby-{table.key}-{start.isoformat()}" + (f"-{end.isoformat()}" if end != start else "")
    if request.args.get("format") == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = table.key[:31]
        sheet.append(table.columns)
        for row in table.rows:
            sheet.append([_exported(value) for value in row])
        buffer = io.BytesIO()
        book.save(buffer)
        return Response(buffer.getvalue(), headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(table.columns)
    writer.writerows([[_exported(value) for value in row] for row in table.rows])
    return Response("\ufeff" + text.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
