"""Conversions, the face-to-face table and the trends, from the hand-counted fortnight of
tests/history.py (its docstring holds the pattern every expected figure below is counted from)."""

import csv
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook

from lobby.domain import trends
from lobby.domain.reports import build_report

from .history import END, build_history, clinic_of

START = dt.date(2026, 2, 25)
COLUMNS = ["visitors", "first_visits", "seen", "deals", "no_deal", "thinking", "no_outcome", "conversion_pct"]


@pytest.fixture
def history(session, clinic):
    return build_history(session, clinic)


def table(figures, key):
    return {row[0]: row[1:] for row in figures.tables[key].rows}


def test_the_history_is_what_its_docstring_says(session, history):
    assert sorted(history) == [START + dt.timedelta(days=i) for i in range(14)] and max(history) == END
    assert sum(len(day) for day in history.values()) == 14 * 9 + 4
    today = history[END]
    assert [today[k].ticket for k in "ACBDGEFHP"] == ["A001", "A002", "A003", "A004", "A005", "B001", "B002",
                                                      "A006", "C001"]
    assert history[dt.date(2026, 3, 8)]["W"].ticket == "B003"


def test_conversion_per_consultant_over_the_fortnight(session, history):
    figures = trends.build_trends(session, START, END, locale="en")
    assert figures.tables["conversion_by_consultant"].columns == ["consultant", *COLUMNS]
    # amy: A (deal on the 7 even days, else thinking) and C (always a deal); H never seen.
    # bea: B no deal, D deal, G no outcome. cai: E thinking, W a deal on the 4 weekend days.
    # dan: F, deal on even days. The surgeon's post-op visits are not sales.
    assert table(figures, "conversion_by_consultant") == {
        "Amy": [42, 28, 28, 21, 0, 7, 0, 75.0],
        "Bea": [42, 28, 42, 14, 14, 0, 14, 33.3],
        "Cai": [18, 18, 18, 4, 0, 14, 0, 22.2],
        "Dan": [14, 14, 14, 7, 7, 0, 0, 50.0],
    }


def test_conversion_per_channel_partner_store_and_line(session, history):
    figures = trends.build_trends(session, START, END, locale="en")
    assert table(figures, "conversion_by_channel") == {
        "ads": [14, 14, 14, 14, 0, 0, 0, 100.0],
        "friend": [14, 14, 14, 0, 14, 0, 0, 0.0],
        "old-client": [42, 0, 28, 14, 0, 0, 14, 50.0],  # C, G and P; P is post-op: a visitor, not seen
        "online": [32, 32, 18, 11, 0, 7, 0, 61.1],  # A, H (never seen), W
        "partner": [28, 28, 28, 7, 7, 14, 0, 25.0],
    }
    assert table(figures, "conversion_by_partner") == {
        "A-class store": [14, 14, 14, 7, 7, 0, 0, 50.0],
        "Ordinary store": [14, 14, 14, 0, 0, 14, 0, 0.0],
    }
    assert table(figures, "conversion_by_line") == {
        "Post-op": [14, 0, 0, 0, 0, 0, 0, None],
        "Skin": [84, 56, 70, 35, 14, 7, 14, 50.0],
        "Surgery": [32, 32, 32, 11, 7, 14, 0, 34.4],
    }


def test_daily_trend(session, history):
    figures = trends.build_trends(session, START, END)
    assert figures.by == "day" and len(figures.buckets) == 14
    rows = figures.tables["trend"].rows
    assert [r[0] for r in rows] == [(START + dt.timedelta(days=i)).isoformat() for i in range(14)]
    assert rows[0] == ["2026-02-25", "2026-02-25", 9, 6, 7, 4, 1, 1, 1, 57.1]  # a weekday, even
    assert rows[1][2:] == [9, 6, 7, 2, 2, 2, 1, 28.6]  # a weekday, odd
    assert rows[3][2:] == [10, 7, 8, 3, 2, 2, 1, 37.5]  # Saturday 02-28, odd
    assert rows[4][2:] == [10, 7, 8, 5, 1, 1, 1, 62.5]  # Sunday 03-01, even
    assert [r[9] for r in rows] == [57.1, 28.6, 57.1, 37.5, 62.5, 28.6, 57.1, 28.6, 57.1, 28.6, 62.5, 37.5,
                                    57.1, 28.6]
    assert sum(r[4] for r in rows) == 102 and sum(r[5] for r in rows) == 46


def test_weekly_trend_runs_monday_to_sunday_within_the_range(session, history):
    figures = trends.build_trends(session, START, END, by="week")
    assert [(b.first.isoformat(), b.last.isoformat()) for b in figures.buckets] == [
        ("2026-02-25", "2026-03-01"), ("2026-03-02", "2026-03-08"), ("2026-03-09", "2026-03-10")]
    assert [r[2:] for r in figures.tables["trend"].rows] == [
        [47, 32, 37, 18, 7, 7, 5, 48.6],
        [65, 44, 51, 22, 11, 11, 7, 43.1],
        [18, 12, 14, 6, 3, 3, 2, 42.9],
    ]
    first_week = {r[2]: r[3:] for r in figures.tables["trend_by_consultant"].rows if r[0] == "2026-02-25"}
    assert first_week == {"Amy": [10, 8, 80.0], "Bea": [15, 5, 33.3], "Cai": [7, 2, 28.6], "Dan": [5, 3, 60.0]}


def test_buckets_and_the_default_range():
    assert trends.default_range(END) == (START, END)
    assert trends.choose_by(START, END) == "day"
    assert trends.choose_by(dt.date(2026, 1, 1), dt.date(2026, 1, 31)) == "day"
    assert trends.choose_by(dt.date(2026, 1, 1), dt.date(2026, 2, 1)) == "week"
    weeks = trends.buckets(dt.date(2026, 3, 1), dt.date(2026, 3, 31), "week")  # a Sunday to a Tuesday
    assert [(b.first.day, b.last.day) for b in weeks] == [(1, 1), (2, 8), (9, 15), (16, 22), (23, 29), (30, 31)]


def test_face_to_face_table_of_one_day(session, history):
    report = build_report(session, END, END, locale="en")
    rows = report.tables["face_to_face"].rows
    columns = report.tables["face_to_face"].columns
    at = {name: columns.index(name) for name in columns}
    assert [r[at["ticket"]] for r in rows] == ["A001", "A002", "A003", "A004", "A005", "B001", "B002", "A006",
                                               "C001"]
    # amy called C (10:07) before A (10:18); bea B, G, D; H was never seen.
    assert [r[at["order"]] for r in rows] == [2, 1, 1, 3, 2, 1, 1, None, 1]
    assert [r[at["first_visit"]] for r in rows] == [True, False, True, True, False, True, True, True, False]
    assert [r[at["outcome"]] for r in rows] == ["thinking", "deal", "no_deal", "deal", "", "thinking", "no_deal",
                                                "", ""]
    first = rows[0]
    assert first[at["visitor"]] and re.fullmatch(r"139\d{8}", first[at["phone"]])
    assert (first[at["time"]], first[at["kind"]], first[at["channel"]], first[at["consultant"]]) == \
        ("10:00", "walk-in", "online", "Amy")
    assert rows[6][at["partner"]] == "A-class store"

    # Per consultant: bea's first visits were her 1st and 3rd; amy's her 2nd.
    assert report.tables["face_to_face_consultants"].rows == [
        ["2026-03-10", "Amy", 2, 1, [2], 1],
        ["2026-03-10", "Bea", 3, 2, [1, 3], 1],
        ["2026-03-10", "Cai", 1, 1, [1], 0],
        ["2026-03-10", "Dan", 1, 1, [1], 0],
        ["2026-03-10", "Dr_Sun", 1, 0, [], 0],
    ]
    assert table(report, "face_to_face_channels") == {
        "ads": [1, 1, 1, 1, 0, 0, 0, 100.0],
        "friend": [1, 1, 1, 0, 1, 0, 0, 0.0],
        "old-client": [3, 0, 2, 1, 0, 0, 1, 50.0],
        "online": [2, 2, 1, 0, 0, 1, 0, 0.0],
        "partner": [2, 2, 2, 0, 1, 1, 0, 0.0],
    }


def test_face_to_face_orders_each_day_on_its_own(session, history):
    sunday = dt.date(2026, 3, 8)  # W comes on weekends: cai's 2nd
    report = build_report(session, dt.date(2026, 3, 7), sunday, locale="en")
    cai = [r for r in report.tables["face_to_face_consultants"].rows if r[1] == "Cai"]
    assert cai == [["2026-03-07", "Cai", 2, 2, [1, 2], 1], ["2026-03-08", "Cai", 2, 2, [1, 2], 1]]


def login(app, api, query):
    """A desk login over the fortnight (built in its own application context: each request gets its own,
    as in production, so each finds its own language)."""
    from .test_admin import Staffer

    query(lambda session: build_history(session, clinic_of(session)))
    return Staffer(app, "desk")


def test_the_pages_show_the_fortnight(app, api, query, frozen_clock):
    frozen_clock.advance(hours=10)  # 20:00 on the last day: every visit of the fortnight is over
    staff = login(app, api, query)
    page = staff.client.get("/admin/reports/trends", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'value="2026-02-25"' in page and 'value="2026-03-10"' in page  # the default: the last 14 days
    # Two over time, a small chart per consultant (4) and per line (2: post-op is not a sale), four over the range.
    assert page.count('<svg class="chart"') == 2 + 4 + 2 + 4
    assert "Bea: 33.3% (14 of 42)" in page
    trend = re.search(r'<svg class="chart"[^>]*aria-labelledby="chart-trend-title.*?</svg>', page, re.S).group(0)
    assert trend.count('class="mark column') == 28  # visitors seen and deals, each of the 14 days
    assert "Feb 25" in trend and ">Mar 1<" in trend and ">26<" in trend
    rate = re.search(r'aria-labelledby="chart-trend-rate-title.*?</svg>', page, re.S).group(0)
    assert rate.count('class="mark point') == 14 and ">62.5%<" in rate
    assert "Conversion = deals ÷ visitors seen" in page

    weekly = staff.client.get("/admin/reports/trends?by=week", headers={"Accept-Language": "en"})
    text = weekly.get_data(as_text=True)
    assert text.count('class="mark point') == 3 + 4 * 3 + 2 * 3  # overall, 4 consultants, 2 lines (not post-op)
    assert "Weeks run Monday to Sunday" in text

    day = staff.client.get("/admin/reports?start=2026-03-10", headers={"Accept-Language": "en"}).get_data(as_text=True)
    consultants = re.search(r'<table class="[^"]*f2f-consultants.*?</table>', day, re.S).group(0)
    bea = re.search(r"<tr><td>Bea</td>.*?</tr>", consultants, re.S).group(0)
    assert re.findall(r"<td[^>]*>([^<]*)</td>", bea) == ["Bea", "3", "2", "1st, 3rd", "1"]
    assert "Trends" in day


def test_trend_tables_export(app, api, query, frozen_clock):
    staff = login(app, api, query)
    response = staff.client.get("/admin/reports/export?table=conversion_by_consultant")
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="lobby-conversion_by_consultant-2026-02-25-2026-03-10.csv"'
    parsed = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert parsed[0] == ["consultant", *COLUMNS] and parsed[1][0] and parsed[1][-1] == "75.0"
    weekly = staff.client.get("/admin/reports/export?table=trend&by=week&format=xlsx")
    sheet = load_workbook(io.BytesIO(weekly.data)).active
    assert [row[0].value for row in sheet.iter_rows()] == ["from", "2026-02-25", "2026-03-02", "2026-03-09"]
    order = staff.client.get("/admin/reports/export?table=face_to_face_consultants&start=2026-03-10")
    assert "2026-03-10,Bea,3,2,\"1, 3\",1" in order.get_data(as_text=True)


def test_a_year_goes_by_week_with_its_labels_thinned(app, api, query, frozen_clock):
    staff = login(app, api, query)
    page = staff.client.get("/admin/reports/trends?start=2025-03-11&end=2026-03-10",
                            headers={"Accept-Language": "en"}).get_data(as_text=True)
    volume = re.search(r'aria-labelledby="chart-trend-title.*?</svg>', page, re.S).group(0)
    assert volume.count('class="mark column') == 2 * 53  # 2025-03-11 is a Tuesday: 52 weeks and a bit
    rate = re.search(r'aria-labelledby="chart-trend-rate-title.*?</svg>', page, re.S).group(0)
    assert rate.count('class="mark point') == 3  # a rate only where someone was seen: the fortnight's weeks
    shown = re.findall(r'<text x="[^"]+" y="[^"]+" text-anchor="middle" class="tick">([^<]+)</text>', rate)
    assert shown[0] == "Mar 11" and 6 <= len(shown) < 53  # every few weeks, each named by its first day
    assert 'value="week" selected' in page and "Weeks run Monday to Sunday" in page
