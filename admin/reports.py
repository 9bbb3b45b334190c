"""The day's figures: charts and the tables behind them, exported as CSV or Excel."""

from __future__ import annotations

import csv
import datetime as dt
import io

from flask import Response, abort, render_template
from flask_login import current_user
from htmx_flask import request

from lobby.domain.reports import build_report
from lobby.domain.settings import clinic_day, get_settings
from lobby.domain.text import parse_day
from lobby.extensions import db
from lobby.messages import message_for
from lobby.presenters import locale_code

from . import bp
from .auth import DESK, roles_required

MAX_DAYS = 366


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
                           **_what_if(start))


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
    start, end = _range()
    report = build_report(db.session, start, end, locale=locale_code())
    table = report.tables.get(request.args.get("table", ""))
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
            sheet.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        return Response(buffer.getvalue(), headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(table.columns)
    writer.writerows(table.rows)
    return Response("\ufeff" + text.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
