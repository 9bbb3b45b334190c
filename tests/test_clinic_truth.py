"""Clinic truth over two clinic days on the frozen clock: triage runs on the records the clinic
itself captures (own consultant, surgeon, roster, hand-offs, day close), through the API and the desk."""

import datetime as dt

import pytest

from lobby.domain import triage
from lobby.models import (
    AuditEntry,
    Client,
    DutyStatus,
    Staff,
    Visit,
    VisitKind,
    VisitStatus,
)

from .factories import MORNING
from .test_admin import Staffer
from .test_kiosk import QUESTIONNAIRE, Kiosk, hidden, walk_in_details

DAY_ONE = MORNING.date().isoformat()  # 2026-03-10, 10:00 in Shanghai
DAY_TWO = (MORNING.date() + dt.timedelta(days=1)).isoformat()
FULL_DAY = [{"username": u, "start": "09:00", "end": "21:00"} for u in ("amy", "bea", "cai", "dan", "dr_sun")]


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    return frozen_clock


def visit_in(api, body, **headers):
    response = api.post("/api/v1/visits", json={"phone": "13912345678", "name": "欧阳娜娜", "service": "peel",
                                                 "kind": "walk-in", **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def move(api, visit, *steps):
    for step in steps:
        body = step if isinstance(step, dict) else {"to": step}
        response = api.post(f"/api/v1/visits/{visit['id']}/transition", json=body)
        assert response.status_code == 200, (step, response.get_json())
    return response.get_json()


def staff_now(api):
    return {s["username"]: s for s in api.get("/api/v1/staff").get_json()}


def next_day(api, frozen_clock, roster=FULL_DAY):
    """The clinic's next morning: the roster the desk set for it."""
    frozen_clock.advance(days=1)
    assert api.put(f"/api/v1/roster/{DAY_TWO}", json=roster).status_code == 200


def test_a_returning_client_goes_to_the_consultant_who_saw_her_the_day_before(api, frozen_clock, query):
    first = visit_in(api, {"service": "eyelid"})  # eyes: bea is first in rotation
    assert first["consultant"] == "bea"
    move(api, first, "called", "with_consultant", "done")
    client = api.get("/api/v1/clients", query_string={"phone": "13912345678"}).get_json()
    assert [c["consultant"] for c in client] == ["bea"]  # 客户归属, captured when her consultation ended

    next_day(api, frozen_clock)
    again = visit_in(api, {"kind": "returning", "service": "eyelid"})
    shown = api.get(f"/api/v1/visits/{again['id']}").get_json()
    assert (shown["consultant"], shown["triage_rule"], shown["first_visit"]) == ("bea", "own", False)
    trail = query(lambda s: s.query(AuditEntry).filter_by(action="client_care").one().detail)
    assert trail["consultant"] == [None, "bea"]


def test_the_desk_changes_the_own_consultant_with_a_reason_and_triage_follows(api, frozen_clock, query):
    done = visit_in(api, {})
    move(api, done, "called", "with_consultant", "done")
    client_id = api.get("/api/v1/clients", query_string={"phone": "13912345678"}).get_json()[0]["id"]
    no_reason = api.patch(f"/api/v1/clients/{client_id}", json={"consultant": "bea"})
    assert no_reason.status_code == 422 and no_reason.get_json()["error"]["code"] == "reason_required"
    doctor = api.patch(f"/api/v1/clients/{client_id}", json={"consultant": "dr_sun", "reason": "x"})
    assert doctor.status_code == 422  # an own consultant is a consultant
    changed = api.patch(f"/api/v1/clients/{client_id}", json={"consultant": "bea", "reason": "she asked for Bea"})
    assert changed.status_code == 200 and changed.get_json()["consultant"] == "bea"
    assert query(lambda s: s.query(AuditEntry).filter_by(action="client_care").order_by(AuditEntry.id.desc())
                 .first().detail["reason"]) == "she asked for Bea"

    next_day(api, frozen_clock)
    assert visit_in(api, {"kind": "returning"})["consultant"] == "bea"


def test_a_booked_post_op_visit_goes_to_the_surgeon_and_uses_no_rotation_turn(api, query):
    booking = api.post("/api/v1/appointments", json={
        "name": "李娜", "phone": "13700137000", "service": "sutures", "starts_at": "2026-03-10T10:30:00+08:00",
        "surgeon": "dr_sun", "surgery_date": "2026-03-03"}).get_json()
    visit = api.post("/api/v1/visits", json={"appointment_code": booking["code"]}).get_json()
    shown = api.get(f"/api/v1/visits/{visit['id']}").get_json()
    assert (shown["line"], shown["consultant"], shown["triage_rule"], shown["first_visit"]) == (
        "post-op", "dr_sun", "surgeon", False)
    # Nobody's rotation turn was used: the next walk-in still goes to the first in rotation.
    assert visit_in(api, {"phone": "13612345678"})["consultant"] == "amy"
    assert query(lambda s: s.query(Client).filter_by(name="李娜").one().surgery_date) == dt.date(2026, 3, 3)


def test_an_unknown_post_op_visitor_stays_post_op_and_the_desk_is_told_to_find_the_surgeon(app, api, query):
    visit = visit_in(api, {"kind": "post-op", "service": None})
    shown = api.get(f"/api/v1/visits/{visit['id']}").get_json()
    assert (shown["kind"], shown["line"], shown["consultant"]) == ("post-op", "post-op", None)
    assert visit["expected_wait_minutes"] == 0  # dr_sun is on duty and free
    row = Staffer(app, "desk").get("/admin/").get_data(as_text=True)
    assert "alert-find_surgeon" in row and "请查明主刀医生和手术日期" in row


def test_the_surgeon_off_duty_leaves_the_visitor_to_any_doctor_of_the_post_op_line(api, frozen_clock):
    api.post("/api/v1/staff/dr_sun/duty", json={"status": "off"})
    visit = visit_in(api, {"kind": "post-op", "service": None, "surgeon": "dr_sun", "surgery_date": "2026-03-01"})
    shown = api.get(f"/api/v1/visits/{visit['id']}").get_json()
    assert (shown["line"], shown["consultant"], shown["triage_rule"]) == ("post-op", None, "post_op_line")
    # No doctor on duty: never "no wait" for a dressing change nobody can do.
    assert visit["expected_wait_minutes"] is None and visit["wait_unknown_reason"] == "nobody_on_duty"


def test_a_first_visit_taken_by_call_next_counts_on_the_rotation_board(api, query):
    for name in ("amy", "bea"):  # nobody free for skin at check-in
        api.post(f"/api/v1/staff/{name}/duty", json={"status": "away"})
    waiting = visit_in(api, {})
    assert waiting["consultant"] is None
    api.post("/api/v1/staff/amy/duty", json={"status": "available"})
    api.post("/api/v1/staff/bea/duty", json={"status": "available"})
    called = api.post("/api/v1/consultants/amy/call-next").get_json()
    assert called["id"] == waiting["id"]
    day = MORNING.date()
    assert query(lambda s: triage.rotation_turns(s, day)) == {query(lambda s: s.query(Staff).filter_by(
        username="amy").one().id): 1}
    # Amy has received one first visit today: the next skin walk-in goes to Bea.
    assert visit_in(api, {"phone": "13612345678"})["consultant"] == "bea"


def test_the_rotation_board_shows_each_consultants_count_and_order(app, api):
    tickets = [visit_in(api, {"phone": f"1361234567{i}"})["ticket"] for i in range(3)]
    board = Staffer(app, "desk").get("/admin/rotation").get_data(as_text=True)
    amy_row = board.split('data-consultant="amy"')[1].split("</tr>")[0]
    assert 'data-turns>2<' in amy_row and f"{tickets[0]} · {tickets[2]}" in amy_row
    assert 'data-doctor="dr_sun"' in board  # doctors are on the duty board too


def test_call_next_takes_the_longest_waiting_visitor_she_may_serve(api, frozen_clock):
    for name in ("amy", "bea"):
        api.post(f"/api/v1/staff/{name}/duty", json={"status": "away"})
    unassigned = visit_in(api, {})
    frozen_clock.advance(minutes=5)
    hers = visit_in(api, {"phone": "13612345678", "consultant": "amy"})
    assert (unassigned["consultant"], hers["consultant"]) == (None, "amy")
    api.post("/api/v1/staff/amy/duty", json={"status": "available"})
    assert api.post("/api/v1/consultants/amy/call-next").get_json()["id"] == unassigned["id"]
    frozen_clock.advance(minutes=1)
    move(api, unassigned, "with_consultant", "done")
    assert api.post("/api/v1/consultants/amy/call-next").get_json()["id"] == hers["id"]


def test_nobody_is_assigned_by_rotation_during_their_break(api, frozen_clock):
    roster = [{"username": "amy", "start": "09:00", "end": "18:00", "breaks": [["10:00", "11:00"]]},
              {"username": "bea", "start": "09:00", "end": "18:00", "breaks": [["12:00", "13:00"]]}]
    assert api.put(f"/api/v1/roster/{DAY_ONE}", json=roster).status_code == 200
    assert api.get(f"/api/v1/roster/{DAY_ONE}").get_json()[0]["breaks"] == [["10:00", "11:00"]]
    amy = staff_now(api)["amy"]
    assert (amy["duty"], amy["duty_reason"]) == ("away", "break") and amy["back_at"].startswith("2026-03-10T03:00")
    assert staff_now(api)["cai"]["duty"] == "off"  # not on the day's roster
    assert visit_in(api, {})["consultant"] == "bea"  # 10:00, Amy at lunch
    frozen_clock.advance(hours=1)  # 11:00: Amy is back, with fewer first visits
    assert visit_in(api, {"phone": "13612345678"})["consultant"] == "amy"


def test_the_desk_can_override_the_roster_until_a_time(api, frozen_clock):
    api.put(f"/api/v1/roster/{DAY_ONE}", json=FULL_DAY)
    until = "2026-03-10T10:30:00+08:00"
    assert api.post("/api/v1/staff/amy/duty", json={"status": "away", "until": until}).status_code == 200
    assert staff_now(api)["amy"]["duty"] == "away"
    frozen_clock.advance(minutes=31)
    assert staff_now(api)["amy"]["duty"] == "available"  # back to the roster by itself
    bad = api.post("/api/v1/staff/amy/duty", json={"status": "busy"})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "duty_invalid"


def test_a_designated_consultant_who_is_off_keeps_the_visitor_and_the_desk_is_told(app, api):
    api.post("/api/v1/staff/amy/duty", json={"status": "off"})
    visit = visit_in(api, {"consultant": "amy"})
    assert visit["consultant"] == "amy"
    assert visit["expected_wait_minutes"] is None and visit["wait_unknown_reason"] == "assignee_absent"
    row = Staffer(app, "desk").get("/admin/").get_data(as_text=True)
    assert "alert-assignee_absent" in row and "可接待：Bea" in row


def test_the_hand_off_names_the_doctor_who_then_sees_the_visitor(app, api, query):
    visit = visit_in(api, {"consultant": "amy"})
    move(api, visit, "called", "with_consultant")
    unnamed = api.post(f"/api/v1/visits/{visit['id']}/transition", json={"to": "with_doctor"})
    assert unnamed.status_code == 422 and unnamed.get_json()["error"]["code"] == "doctor_required"
    not_a_doctor = api.post(f"/api/v1/visits/{visit['id']}/transition", json={"to": "with_doctor", "doctor": "bea"})
    assert not_a_doctor.status_code == 422
    shown = move(api, visit, {"to": "with_doctor", "doctor": "dr_sun"})
    assert shown["doctor"] == "dr_sun"
    now = staff_now(api)
    assert now["dr_sun"]["duty"] == "busy" and now["amy"]["duty"] == "busy"  # she stays with the visitor
    doctor = Staffer(app, "dr_sun")
    assert doctor.get(f"/admin/visits/{visit['id']}").status_code == 200
    assert visit["ticket"] in doctor.get("/admin/").get_data(as_text=True)  # in his own queue
    # Amy is not offered new visitors meanwhile: the next skin walk-in goes to Bea.
    assert visit_in(api, {"phone": "13612345678"})["consultant"] == "bea"


def test_a_swap_during_the_consultation_frees_the_first_consultant(api, query):
    visit = visit_in(api, {"consultant": "amy"})
    move(api, visit, "called", "with_consultant")
    swapped = api.post(f"/api/v1/visits/{visit['id']}/reassign", json={"consultant": "bea", "reason": "犹豫，换人"})
    assert swapped.status_code == 200, swapped.get_json()
    assert (swapped.get_json()["consultant"], swapped.get_json()["status"]) == ("bea", "with_consultant")
    now = staff_now(api)
    assert (now["amy"]["duty"], now["bea"]["duty"]) == ("available", "busy")
    assert query(lambda s: s.query(AuditEntry).filter_by(action="reassign").one().detail["reason"]) == "犹豫，换人"


def test_the_api_refuses_a_non_consultant_assignee(api):
    visit = visit_in(api, {})
    response = api.post(f"/api/v1/visits/{visit['id']}/reassign", json={"consultant": "dr_sun", "reason": "x"})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "unknown_consultant"
    desk = api.post("/api/v1/visits", json={"name": "王", "phone": "13612345678", "consultant": "desk"})
    assert desk.status_code == 422


def test_a_complaint_goes_to_the_desk_adds_no_wait_and_stays_off_the_board(app, api, client):
    for name in ("amy", "bea"):
        api.post(f"/api/v1/staff/{name}/duty", json={"status": "away"})
    api.post("/api/v1/staff/amy/duty", json={"status": "available"})
    first = visit_in(api, {})
    before = visit_in(api, {"phone": "13612345670"})["expected_wait_minutes"]
    complaint = visit_in(api, {"phone": "13612345671", "kind": "complaint"})
    assert complaint["consultant"] is None and complaint["expected_wait_minutes"] is None
    assert complaint["wait_unknown_reason"] == "front_desk"
    after = visit_in(api, {"phone": "13612345672"})["expected_wait_minutes"]
    assert before + 18 <= after <= before + 22  # one peel (20 min) more ahead, nothing for the complaint
    assert complaint["ticket"] not in client.get("/display/").get_data(as_text=True)
    assert first["ticket"] in client.get("/display/").get_data(as_text=True)
    assert api.post("/api/v1/consultants/amy/call-next").get_json()["id"] == first["id"]
    # The desk receives it, and says so.
    assert move(api, complaint, "done")["status"] == "done"


def test_a_browsing_visitor_may_become_a_walk_in(app, api, query):
    browsing = visit_in(api, {"kind": "browsing", "service": None})
    assert browsing["consultant"] is None and browsing["wait_unknown_reason"] == "front_desk"
    desk = Staffer(app, "desk")
    assert desk.post(f"/admin/visits/{browsing['id']}/walk-in").status_code == 200
    visit = query(lambda s: [(v.kind, v.consultant.username, v.triage_rule, v.first_visit) for v in s.query(Visit)])
    assert visit == [(VisitKind.WALK_IN, "amy", "rotation", True)]


def test_past_days_close_by_themselves_and_duty_returns_to_the_roster(api, frozen_clock, query):
    left_waiting = visit_in(api, {})
    api.post("/api/v1/staff/bea/duty", json={"status": "away"})
    frozen_clock.advance(days=1)
    api.get("/api/v1/queue")  # the first request of the new clinic day
    visit = query(lambda s: s.query(Visit).filter_by(public_id=left_waiting["id"]).one())
    assert (visit.status, visit.left_reason) == (VisitStatus.LEFT, "day_closed")
    assert query(lambda s: s.query(AuditEntry).filter_by(action="close_day").one().detail["visits"]) == 1
    now = staff_now(api)
    assert {now[u]["duty"] for u in ("amy", "bea", "cai")} == {"off"}  # no roster for today yet: nobody assumed
    api.put(f"/api/v1/roster/{DAY_TWO}", json=FULL_DAY)
    assert staff_now(api)["bea"]["duty"] == "available"  # yesterday's "away" does not carry over
    assert visit_in(api, {"phone": "13612345678"})["ticket"] == "A001"  # numbering restarts


def test_the_close_day_command(app, api, query):
    visit_in(api, {})
    result = app.test_cli_runner().invoke(args=["close-day", "--date", DAY_ONE])
    assert result.exit_code == 0 and "1 visit(s)" in result.output
    assert query(lambda s: s.query(Visit).one().status) == VisitStatus.LEFT
    assert app.test_cli_runner().invoke(args=["close-day", "--date", "2026-02-30"]).exit_code != 0


def test_nobody_on_duty_means_an_unknown_wait_never_soon(app, api, client, query):
    for name in ("amy", "bea", "cai", "dan"):
        api.post(f"/api/v1/staff/{name}/duty", json={"status": "off"})
    visit = visit_in(api, {})
    assert visit["expected_wait_minutes"] is None and visit["wait_unknown_reason"] == "nobody_on_duty"
    assert visit["expected_wait_max_minutes"] is None
    phone = client.get(visit["ticket_url"].replace("http://localhost", ""))
    assert "前台会告诉您需要等候多久" in phone.get_data(as_text=True)
    state = client.get(visit["ticket_url"].replace("http://localhost", "") + "/state.json").get_json()
    assert state["expected_wait_minutes"] is None
    kiosk = Kiosk(app)
    carry = hidden(kiosk.get("/kiosk/step/walk-in").get_data(as_text=True))
    details = kiosk.post("/kiosk/details", {**carry, **walk_in_details(app, phone="13500135000")})
    ticket = kiosk.post("/kiosk/finish", {**hidden(details.get_data(as_text=True)), **QUESTIONNAIRE})
    html = ticket.get_data(as_text=True)
    assert "前台会告诉您需要等候多久" in html and "很快" not in html
    assert "alert-nobody_on_duty" in Staffer(app, "desk").get("/admin/").get_data(as_text=True)


def test_the_roster_page_saves_a_day_and_refuses_a_break_outside_the_shift(app, api, query):
    desk = Staffer(app, "desk")
    amy = query(lambda s: s.query(Staff).filter_by(username="amy").one().id)
    bad = desk.post(f"/admin/roster?date={DAY_TWO}", {f"start-{amy}": "09:00", f"end-{amy}": "18:00",
                                                       f"breaks-{amy}": "19:00-20:00"})
    assert bad.status_code == 422 and "休息时间须在班次之内" in bad.get_data(as_text=True)
    good = desk.post(f"/admin/roster?date={DAY_TWO}", {f"start-{amy}": "09:00", f"end-{amy}": "18:00",
                                                        f"breaks-{amy}": "12:00-13:00"})
    assert good.status_code == 200
    assert api.get(f"/api/v1/roster/{DAY_TWO}").get_json() == [
        {"username": "amy", "name": "Amy", "role": "consultant", "start": "09:00", "end": "18:00",
         "breaks": [["12:00", "13:00"]]}]


def test_the_desk_row_shows_own_consultant_surgeon_and_days_since_surgery(app, api, query):
    booking = api.post("/api/v1/appointments", json={
        "name": "李娜", "phone": "13700137000", "service": "sutures", "starts_at": "2026-03-10T10:30:00+08:00",
        "surgeon": "dr_sun", "surgery_date": "2026-03-03"}).get_json()
    api.post("/api/v1/visits", json={"appointment_code": booking["code"]})
    html = Staffer(app, "desk").get("/admin/").get_data(as_text=True)
    assert "主刀：Dr_Sun" in html and "术后第 7 天" in html


def test_the_desk_sets_the_surgeon_on_the_visitors_page_with_a_reason(app, api, query):
    visit = visit_in(api, {"kind": "post-op", "service": None})
    desk = Staffer(app, "desk")
    doctor = query(lambda s: s.query(Staff).filter_by(username="dr_sun").one().id)
    future = desk.post(f"/admin/visits/{visit['id']}/care", {"surgeon": str(doctor), "surgery_date": "2026-04-01",
                                                             "reason": "病历"})
    assert future.status_code == 422 and "手术日期不能晚于今天" in future.get_data(as_text=True)
    saved = desk.post(f"/admin/visits/{visit['id']}/care", {"surgeon": str(doctor), "surgery_date": "2026-03-01",
                                                            "reason": "查病历"})
    assert saved.status_code == 200
    client = query(lambda s: (s.query(Client).one().surgeon.username, s.query(Client).one().surgery_date))
    assert client == ("dr_sun", dt.date(2026, 3, 1))
    assert "alert-find_surgeon" not in desk.get("/admin/").get_data(as_text=True)
    assert query(lambda s: s.query(Staff).filter_by(username="amy").one().duty_status) == DutyStatus.AVAILABLE


def test_named_first_visits_count_on_the_rotation_board_only_if_the_clinic_says_so(api, query):
    from lobby.models import ClinicSettings

    visit_in(api, {"consultant": "amy"})
    assert visit_in(api, {"phone": "13612345670"})["consultant"] == "amy"  # the request used no turn

    def count_named(session):
        session.query(ClinicSettings).one().rotation_counts_designated = True
        session.commit()

    query(count_named)
    # Now Amy has two first visits and Bea none: the next goes to Bea.
    assert visit_in(api, {"phone": "13612345671"})["consultant"] == "bea"


def test_the_latest_consultant_becomes_the_own_one_when_the_clinic_keeps_the_latest(api, frozen_clock, query):
    from lobby.models import ClinicSettings

    def keep_latest(session):
        session.query(ClinicSettings).one().ownership_rule = "latest"
        session.commit()

    first = visit_in(api, {"consultant": "amy"})
    move(api, first, "called", "with_consultant", "done")
    next_day(api, frozen_clock)
    second = visit_in(api, {"kind": "returning", "consultant": "bea"})
    move(api, second, "called", "with_consultant", "done")
    owner = api.get("/api/v1/clients", query_string={"phone": "13912345678"}).get_json()[0]["consultant"]
    assert owner == "amy"  # "first": the first consultant stays hers
    query(keep_latest)
    third = visit_in(api, {"kind": "returning", "consultant": "bea"})
    move(api, third, "called", "with_consultant", "done")
    assert api.get("/api/v1/clients", query_string={"phone": "13912345678"}).get_json()[0]["consultant"] == "bea"


def test_a_csv_import_carries_the_surgeon_the_surgery_date_and_the_partner_store(app, api, query):
    from lobby.database import unit_of_work
    from lobby.domain import appointments
    from lobby.extensions import db
    from lobby.models import PartnerStore

    from .factories import ACTOR

    with app.app_context():
        db.session.query(PartnerStore).filter_by(name="A-class store").one().code = "AC01"
        db.session.commit()
        text = ("name,phone,starts_at,service,surgeon,surgery_date,partner\n"
                "李娜,13700137000,2026-03-10T15:00:00+08:00,sutures,dr_sun,2026-03-01,AC01\n"
                "王芳,13700137001,2026-03-10T15:00:00+08:00,peel,amy,,\n")
        with unit_of_work(db.session):
            report = appointments.import_csv(db.session, text, actor=ACTOR)
    assert report.imported == 1 and [r[1:3] for r in report.rejected] == [("surgeon", "unknown_doctor")]
    client = query(lambda s: [(c.surgeon.username, c.surgery_date, c.partner.code) for c in s.query(Client)])
    assert client == [("dr_sun", dt.date(2026, 3, 1), "AC01")]
