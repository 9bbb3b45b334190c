"""The day's figures from a seeded day with known answers, and exports that open again."""

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from lobby.database import unit_of_work
from lobby.domain import checkin, visits
from lobby.domain.reports import build_report
from lobby.models import Appointment, AppointmentStatus, VisitKind, VisitStatus

from .factories import ACTOR, MORNING, new_client

S = VisitStatus
DAY = dt.date(2026, 3, 10)


def at(minutes):
    return MORNING + dt.timedelta(minutes=minutes)


def seed_day(session, clinic):
    """Four visitors with known waits and consultations, and four bookings with known outcomes."""
    people = []
    plan = [  # (arrive, service, kind, channel, called after, consultation minutes, requested)
        (0, clinic.services.peel, VisitKind.WALK_IN, "online", 10, 15, clinic.staff.amy),
        (5, clinic.services.peel, VisitKind.WALK_IN, "friend", 20, 25, clinic.staff.amy),
        (65, clinic.services.peel, VisitKind.RETURNING, "online", 30, None, clinic.staff.amy),
        (70, clinic.services.nose, VisitKind.WALK_IN, "online", None, None, clinic.staff.dan),
    ]
    for arrive, service, kind, channel, called, minutes, requested in plan:
        client = new_client(session, channel=channel, partner=clinic.partners.a_class if channel == "friend" else None)
        with unit_of_work(session):
            visit = checkin.check_in(session, kind=kind, client=client, service=service, requested=requested,
                                    now=at(arrive), actor=ACTOR)
        people.append(visit)
        if called is not None:
            with unit_of_work(session):
                visits.transition(session, visit, S.CALLED, now=at(arrive + called), actor=ACTOR)
                if minutes is not None:
                    visits.transition(session, visit, S.WITH_CONSULTANT, now=at(arrive + called), actor=ACTOR)
                    visits.transition(session, visit, S.DONE, now=at(arrive + called + minutes), actor=ACTOR)
    for i, (starts, status) in enumerate([(-60, AppointmentStatus.CANCELLED), (-120, AppointmentStatus.BOOKED),
                                          (-30, AppointmentStatus.BOOKED), (-90, AppointmentStatus.BOOKED)]):
        session.add(Appointment(code=f"10000{i}", client=new_client(session), service=clinic.services.peel,
                                starts_at=at(180 + starts), status=status))
    session.commit()
    # What each was told at check-in (set here: this seeding is not in time order).
    for visit, told, upper in zip(people, (0, 20, 40, None), (5, 25, 60, None), strict=True):
        visit.predicted_wait_minutes, visit.predicted_wait_max_minutes = told, upper
    kept, late = session.query(Appointment).filter_by(code="100002").one(), \
        session.query(Appointment).filter_by(code="100003").one()
    with unit_of_work(session):
        checkin.check_in(session, kind=VisitKind.APPOINTMENT, appointment=kept, now=at(150), actor=ACTOR)
        checkin.check_in(session, kind=VisitKind.APPOINTMENT, appointment=late, now=at(150), actor=ACTOR)
    return people


def rows(report, key):
    return report.tables[key].rows


def test_figures_of_a_known_day(session, clinic):
    seed_day(session, clinic)
    report = build_report(session, DAY, DAY, now=at(400), locale="en")
    assert rows(report, "by_hour") == [["10:00", 2], ["11:00", 2], ["12:00", 2]]
    assert rows(report, "by_line") == [["Skin", 5], ["Surgery", 1]]
    assert dict(rows(report, "by_kind")) == {"walk-in": 3, "returning": 1, "appointment": 2}
    assert rows(report, "by_partner") == [["A-class store", 1]]
    # Called after 10, 20 and 30 minutes: median 20, p90 30, longest 30, one over the 20-minute threshold.
    assert rows(report, "wait_by_line")[0] == ["Skin", 3, 20.0, 30.0, 30.0, 1]
    amy = next(r for r in rows(report, "per_consultant") if r[0] == "Amy")
    assert amy[1] == 2 and amy[4] == 20.0  # served two, consultations of 15 and 25 minutes
    assert dict(rows(report, "appointments")) == {"kept": 1, "late": 1, "no_show": 1, "cancelled": 1, "booked": 0}
    # Told 0, 20 and 40 minutes; waited 10, 20 and 30: off by 10, 0 and 10.
    assert report.wait_error_minutes == pytest.approx(6.7, abs=0.05)
    # One of three within ±5 minutes; the first (told at most 5, waited 10) waited past the bound.
    assert rows(report, "wait_accuracy") == [[3, 6.7, 33, 33]]
    assert [r[2] for r in rows(report, "face_to_face")] == ["A001", "A002", "A003", "B001", "A004", "A005"]


def test_exports_open_again_with_chinese_intact(app, api, query):
    from .test_admin import Staffer

    staff = Staffer(app, "desk")
    api.post("/api/v1/visits", json={"name": "欧阳娜娜", "phone": "13912345678", "kind": "walk-in", "service": "peel"})
    page = staff.client.get("/admin/reports")
    assert page.status_code == 200 and "一日当面咨询表" in page.get_data(as_text=True)
    csv_response = staff.client.get("/admin/reports/export?table=face_to_face")
    assert csv_response.mimetype == "text/csv"
    parsed = list(csv.reader(io.StringIO(csv_response.get_data(as_text=True).lstrip("\ufeff"))))
    assert parsed[0][:3] == ["day", "time", "ticket"] and parsed[1][2:4] == ["A001", "欧阳娜娜"]
    xlsx = staff.client.get("/admin/reports/export?table=face_to_face&format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == parsed[0] and values[1][2:4] == ["A001", "欧阳娜娜"]
    assert staff.client.get("/admin/reports/export?table=nope").status_code == 404
