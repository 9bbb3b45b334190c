"""Complaints (投诉): opened by the desk's registration (or phoned in), calmed, reported to the department's
head when the roster says the head is on duty — otherwise to customer service —, closed with a resolution;
figures per day and per person named; webhooks; desk and admin only; never on a public screen."""

import datetime as dt
import re

import pytest

from lobby.database import unit_of_work
from lobby.domain import complaints, roster
from lobby.domain.audit import Actor
from lobby.domain.duty import set_duty
from lobby.domain.errors import Conflict, ValidationError
from lobby.extensions import socketio
from lobby.models import (
    AuditEntry,
    ClinicSettings,
    Complaint,
    Line,
    Staff,
    Visit,
    VisitKind,
    VisitStatus,
    WebhookDelivery,
    WebhookEndpoint,
)

from .factories import ACTOR, MORNING, new_client
from .test_admin import Staffer

DAY1, DAY2, DAY3 = dt.date(2026, 3, 10), dt.date(2026, 3, 11), dt.date(2026, 3, 12)
CUSTOMER_SERVICE = "客服部 · 刘女士 · 8001"


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    return frozen_clock


def english(staffer):
    """The desk's screens in English (the assertions read English words)."""
    staffer.client.get("/lang/en")
    return staffer


def desk_actor(session, username="desk"):
    member = session.query(Staff).filter_by(username=username).one()
    return Actor(f"staff:{username}", member.id)


def with_head(session, head="dr_sun", line="surgery"):
    """Surgery's head is the surgeon; customer service is named in the settings."""
    found = session.query(Line).filter_by(code=line).one()
    found.head = session.query(Staff).filter_by(username=head).one()
    session.query(ClinicSettings).one().customer_service = CUSTOMER_SERVICE
    session.commit()
    return found


def shifts(session, day, *entries):
    """The day's roster: (username, start, end, breaks)."""
    with unit_of_work(session):
        roster.replace_roster(session, day, [{"username": u, "start": s, "end": e, "breaks": b}
                                             for u, s, e, b in entries], actor=ACTOR)


def opened(session, what="等了一个小时没人理", line=None, about=None, client=None, now=None, actor=None):
    with unit_of_work(session):
        complaint = complaints.open_complaint(
            session, what_happened=what, actor=actor or desk_actor(session), now=now,
            line=session.query(Line).filter_by(code=line).one() if line else None,
            about_staff=session.query(Staff).filter_by(username=about).one() if about else None, client=client)
    return complaint


def register_complaint(staff, **extra):
    form = {"kind": "complaint", "name": "赵丽", "phone": "13600136000", "key": f"k{len(extra)}{sorted(extra)}",
            "what_happened": "术后复查等了一个小时，医生态度很差", **extra}
    return staff.post("/admin/register", form)


# --- opening ----------------------------------------------------------------------------------------


def test_the_desks_registration_of_a_complaint_opens_its_record(app, api, query):
    desk = english(Staffer(app, "desk"))
    ids = query(lambda s: {"surgery": s.query(Line).filter_by(code="surgery").one().id,
                           "cai": s.query(Staff).filter_by(username="cai").one().id})
    response = register_complaint(desk, complaint_line=str(ids["surgery"]), about_staff=str(ids["cai"]))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    found = query(lambda s: [(c.public_id, c.visit.kind, c.visit.ticket, c.received_by.username, c.line.code,
                              c.about_staff.username, c.clinic_day, c.what_happened, c.client.name)
                             for c in s.query(Complaint)])
    assert [row[1:] for row in found] == [(VisitKind.COMPLAINT, "A001", "desk", "surgery", "cai", DAY1,
                                          "术后复查等了一个小时，医生态度很差", "赵丽")]
    # The confirmation links to the record, and the record shows what happened.
    assert f'/admin/complaints/{found[0][0]}' in page and "Complaint record" in page
    record = desk.get(f"/admin/complaints/{found[0][0]}").get_data(as_text=True)
    assert "术后复查等了一个小时，医生态度很差" in record and "Desk" in record and "Cai" in record
    # A re-sent form (the same key) gives the same ticket and no second complaint.
    register_complaint(desk, complaint_line=str(ids["surgery"]), about_staff=str(ids["cai"]))
    assert query(lambda s: (s.query(Complaint).count(), s.query(Visit).count())) == (1, 1)


def test_a_complaint_must_say_what_happened_and_nothing_is_made_without_it(app, api, query):
    desk = english(Staffer(app, "desk"))
    response = register_complaint(desk, what_happened="  \u200b ")
    assert response.status_code == 422
    assert "Please write down what happened." in response.get_data(as_text=True)
    assert query(lambda s: (s.query(Complaint).count(), s.query(Visit).count())) == (0, 0)
    # Other kinds never ask for it.
    walk_in = desk.post("/admin/register", {"kind": "returning", "name": "钱多", "phone": "13600136001", "key": "w"})
    assert walk_in.status_code == 200 and query(lambda s: s.query(Complaint).count()) == 0


def test_a_visitor_already_holding_a_ticket_may_still_complain(app, api, query):
    api.post("/api/v1/visits", json={"name": "赵丽", "phone": "13600136000", "kind": "walk-in", "service": "peel"})
    desk = english(Staffer(app, "desk"))
    response = register_complaint(desk)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert query(lambda s: [(c.visit.kind, c.client.name) for c in s.query(Complaint)]) == [
        (VisitKind.COMPLAINT, "赵丽")]


def test_the_waiting_lists_complaint_row_leads_to_its_record(app, api, query):
    desk = english(Staffer(app, "desk"))
    register_complaint(desk)
    visit_id, complaint_id = query(lambda s: (s.query(Visit).one().public_id, s.query(Complaint).one().public_id))
    listing = desk.get("/admin/").get_data(as_text=True)
    assert f"/admin/complaints/visit/{visit_id}" in listing and "Complaint record" in listing
    opened_page = desk.client.get(f"/admin/complaints/visit/{visit_id}")
    assert opened_page.status_code == 302 and opened_page.headers["Location"].endswith(f"/admin/complaints/{complaint_id}")
    assert f"/admin/complaints/visit/{visit_id}" in desk.get(f"/admin/visits/{visit_id}").get_data(as_text=True)


def test_merging_the_complainant_into_the_client_on_file_keeps_the_complaint(app, api, query):
    api.post("/api/v1/visits", json={"name": "李雪", "phone": "13900139000", "kind": "walk-in", "service": "peel"})
    desk = english(Staffer(app, "desk"))
    register_complaint(desk, name="李 雪儿", phone="13900139000")  # the same phone, typed under another name
    visit = query(lambda s: s.query(Visit).filter_by(kind=VisitKind.COMPLAINT).one().public_id)
    assert query(lambda s: s.query(Visit).filter_by(public_id=visit).one().identity_flag) == "phone_mismatch"
    assert desk.post(f"/admin/visits/{visit}/identity", {"decision": "same_person"}).status_code == 302
    on_file = query(lambda s: s.query(Visit).filter_by(kind=VisitKind.WALK_IN).one().client_id)
    assert query(lambda s: s.query(Complaint).one().client_id) == on_file


def test_a_complaint_checked_in_elsewhere_gets_its_record_from_the_visit(app, api, query):
    visit = api.post("/api/v1/visits", json={"name": "孙丽", "phone": "13500135000", "kind": "complaint"}).get_json()
    desk = english(Staffer(app, "desk"))
    form = desk.get(f"/admin/complaints/visit/{visit['id']}").get_data(as_text=True)
    assert f'name="visit" value="{visit["id"]}"' in form
    made = desk.post("/admin/complaints", {"visit": visit["id"], "what_happened": "收费和说好的不一样"})
    assert made.status_code == 302
    assert query(lambda s: [(c.visit.public_id, c.client.name) for c in s.query(Complaint)]) == [(visit["id"], "孙丽")]
    again = desk.post("/admin/complaints", {"visit": visit["id"], "what_happened": "再说一遍"})
    assert again.status_code == 302 and query(lambda s: s.query(Complaint).count()) == 1


def test_a_complaint_by_phone_finds_the_client_on_file_or_records_a_new_one(app, api, query):
    api.post("/api/v1/visits", json={"name": "李雪", "phone": "13900139000", "kind": "walk-in", "service": "peel"})
    desk = english(Staffer(app, "desk"))
    for name, phone in (("李雪", "13900139000"), ("周一", "13700137000"), ("", "")):
        assert desk.post("/admin/complaints", {"what_happened": "电话投诉", "name": name, "phone": phone}).status_code == 302
    rows = query(lambda s: [(c.client.name if c.client else None, c.client_id) for c in s.query(Complaint).order_by(Complaint.id)])
    on_file = query(lambda s: s.query(Visit).one().client_id)
    assert rows[0] == ("李雪", on_file) and rows[1][0] == "周一" and rows[2] == (None, None)


@pytest.mark.parametrize("form,field_message", [
    ({"what_happened": ""}, "Please write down what happened."),
    ({"what_happened": "x" * 2001}, "This is too long (at most 2000 characters)."),
    ({"what_happened": "x", "phone": "12345"}, "This is not a valid mobile number."),
    ({"what_happened": "x", "name": "李雪"}, "Give both the name and the mobile number"),
    ({"what_happened": "x", "name": "别人", "phone": "13900139000"}, "on file under another name"),
    ({"what_happened": "x", "complaint_line": "999"}, "Please choose one of the options."),
    ({"what_happened": "x", "about_staff": "²"}, "Please choose one of the options."),
])
def test_bad_input_gets_a_clear_message_and_changes_nothing(app, api, query, form, field_message):
    api.post("/api/v1/visits", json={"name": "李雪", "phone": "13900139000", "kind": "walk-in", "service": "peel"})
    desk = english(Staffer(app, "desk"))
    response = desk.post("/admin/complaints", form)
    assert response.status_code == 422
    assert field_message in response.get_data(as_text=True)
    assert query(lambda s: s.query(Complaint).count()) == 0
    assert desk.get("/admin/complaints/no-such-complaint").status_code == 404
    assert desk.post("/admin/complaints/no-such-complaint/close", {"resolution": "x"}).status_code == 404


# --- escalation: the head when on duty, else customer service ----------------------------------------


def test_a_complaint_goes_to_the_head_on_shift(session, clinic):
    with_head(session)
    shifts(session, DAY1, ("dr_sun", "09:00", "18:00", [["12:00", "13:00"]]))
    complaint = opened(session, line="surgery", about="cai")
    with unit_of_work(session):
        target = complaints.escalate(session, complaint, actor=ACTOR)
    assert (target.head.username, target.reason) == ("dr_sun", "head_on_duty")
    assert (complaint.escalated_to.username, complaint.escalated_to_customer_service,
            complaint.escalated_at) == ("dr_sun", False, MORNING)


@pytest.mark.parametrize("roster_of_the_day,reason", [
    ([("dr_sun", "09:00", "18:00", [["09:30", "10:30"]])], "break"),       # on a break at 10:00
    ([("amy", "09:00", "18:00", [])], "not_rostered"),                    # no shift that day
    ([("dr_sun", "07:00", "09:30", [])], "shift_over"),                   # the shift has ended
    ([("dr_sun", "11:00", "18:00", [])], "before_shift"),                 # not started yet
])
def test_a_complaint_escalates_to_customer_service_when_the_head_is_off_duty(session, clinic, roster_of_the_day,
                                                                             reason):
    with_head(session)
    shifts(session, DAY1, *roster_of_the_day)
    complaint = opened(session, line="surgery")
    with unit_of_work(session):
        target = complaints.escalate(session, complaint, actor=ACTOR)
    assert target.to_customer_service and target.reason == reason and target.department_head.username == "dr_sun"
    assert complaint.escalated_to is None and complaint.escalated_to_customer_service
    assert complaints.escalation_reason(session, complaint) == reason


def test_the_desks_word_counts_and_the_next_day_has_its_own_roster(session, clinic, frozen_clock):
    with_head(session)
    shifts(session, DAY1, ("dr_sun", "09:00", "18:00", []))
    shifts(session, DAY2, ("amy", "09:00", "18:00", []))
    first = opened(session, line="surgery")
    assert complaints.escalation_target(session, first).head.username == "dr_sun"
    with unit_of_work(session):
        set_duty(session, session.query(Staff).filter_by(username="dr_sun").one(), "away", actor=ACTOR)
    assert complaints.escalation_target(session, first).reason == "desk"  # the desk said he stepped out
    frozen_clock.advance(days=1)  # the next clinic day: on its roster, the surgeon has no shift
    second = opened(session, line="surgery")
    with unit_of_work(session):
        target = complaints.escalate(session, second, actor=ACTOR)
    assert target.to_customer_service and target.reason == "not_rostered"


def test_no_department_or_no_head_goes_to_customer_service(session, clinic):
    with_head(session)
    assert complaints.escalation_target(session, opened(session)).reason == "no_department"
    assert complaints.escalation_target(session, opened(session, line="skin")).reason == "no_head"
    session.query(Staff).filter_by(username="dr_sun").one().active = False
    session.commit()
    assert complaints.escalation_target(session, opened(session, line="surgery")).reason == "no_head"


def test_the_record_says_whom_it_will_go_to_and_why(app, api, query):
    query(lambda s: (with_head(s), shifts(s, DAY1, ("dr_sun", "09:00", "18:00", [["09:30", "10:30"]]))))
    complaint_id = query(lambda s: opened(s, line="surgery").public_id)
    desk = english(Staffer(app, "desk"))
    page = desk.get(f"/admin/complaints/{complaint_id}").get_data(as_text=True)
    assert 'data-target="customer_service"' in page and 'data-why="break"' in page
    assert CUSTOMER_SERVICE in page and "Head off duty: Dr_Sun (on a break)." in page and "Back at 10:30." in page
    assert desk.post(f"/admin/complaints/{complaint_id}/escalate").status_code == 302
    page = desk.get(f"/admin/complaints/{complaint_id}").get_data(as_text=True)
    assert 'data-escalated="customer_service"' in page and "The head was on a break." in page
    # Reporting twice is refused in words, not a 500.
    twice = desk.post(f"/admin/complaints/{complaint_id}/escalate")
    assert twice.status_code == 409 and "This complaint has already been reported." in twice.get_data(as_text=True)


# --- calming, closing ---------------------------------------------------------------------------------


def test_close_requires_a_resolution_and_a_closed_complaint_stays_closed(session, clinic, frozen_clock):
    complaint = opened(session, line="skin", about="amy")
    with unit_of_work(session):
        complaints.calm(session, complaint, note="道歉，安排在贵宾室休息", actor=ACTOR)
    with unit_of_work(session):
        complaints.calm(session, complaint, note="道歉，安排在贵宾室休息\n\n\n送了饮料", actor=ACTOR)
    assert complaint.calming_note == "道歉，安排在贵宾室休息\n\n送了饮料"  # rewritten until closed
    for empty in ("", "   ", "\u202e"):
        with pytest.raises(ValidationError) as refused:
            with unit_of_work(session):
                complaints.close(session, complaint, resolution=empty, actor=ACTOR)
        assert refused.value.code == "complaint_resolution_required"
    assert session.get(Complaint, complaint.id).closed_at is None
    frozen_clock.advance(minutes=30)
    with unit_of_work(session):
        complaints.close(session, complaint, resolution="退还差价，主任当面致歉", actor=desk_actor(session))
    assert (complaint.closed_at, complaint.closed_by.username) == (MORNING + dt.timedelta(minutes=30), "desk")
    for change in (lambda c: complaints.calm(session, c, note="x", actor=ACTOR),
                   lambda c: complaints.escalate(session, c, actor=ACTOR),
                   lambda c: complaints.close(session, c, resolution="x", actor=ACTOR)):
        with pytest.raises(Conflict):
            with unit_of_work(session):
                change(session.get(Complaint, complaint.id))
    actions = [(e.action, e.detail["complaint"]) for e in session.query(AuditEntry).order_by(AuditEntry.id)
               if e.action.startswith("complaint_")]
    assert actions == [("complaint_opened", complaint.public_id), ("complaint_calmed", complaint.public_id),
                       ("complaint_calmed", complaint.public_id), ("complaint_closed", complaint.public_id)]


def test_the_desk_calms_and_closes_on_the_record_page(app, api, query):
    complaint_id = query(lambda s: opened(s, line="skin").public_id)
    desk = english(Staffer(app, "desk"))
    empty = desk.post(f"/admin/complaints/{complaint_id}/close", {"resolution": " "})
    assert empty.status_code == 422
    assert "Please write how the complaint was resolved before closing it." in empty.get_data(as_text=True)
    assert desk.post(f"/admin/complaints/{complaint_id}/calm", {"calming_note": "已安抚"}).status_code == 302
    assert desk.post(f"/admin/complaints/{complaint_id}/close", {"resolution": "已退款"}).status_code == 302
    page = desk.get(f"/admin/complaints/{complaint_id}?done=closed").get_data(as_text=True)
    assert 'data-state="closed"' in page and "已安抚" in page and "已退款" in page
    assert "Not reported: settled at the desk." in page and 'name="resolution"' not in page


# --- figures, recurrences -----------------------------------------------------------------------------


def test_figures_per_day_and_per_staff_member_named(session, clinic, frozen_clock):
    with_head(session)
    shifts(session, DAY1, ("dr_sun", "09:00", "18:00", []))
    a = opened(session, line="surgery", about="amy")
    b = opened(session, about="amy")
    c = opened(session)
    with unit_of_work(session):
        complaints.escalate(session, a, actor=ACTOR)   # to the head, on shift
        complaints.escalate(session, c, actor=ACTOR)   # no department: customer service
        complaints.close(session, b, resolution="当场解决", actor=ACTOR)
    frozen_clock.advance(days=1)
    d = opened(session, about="cai")
    with unit_of_work(session):
        complaints.close(session, a, resolution="主任处理", actor=ACTOR)
    frozen_clock.advance(days=1)
    e = opened(session, about="amy")
    figures = complaints.figures(session, DAY1, DAY3)
    assert figures.days == [(DAY1, 3, 1, 2), (DAY2, 1, 1, 2), (DAY3, 1, 0, 3)]
    assert [(s.username, n, still) for s, n, still in figures.per_staff] == [("amy", 3, 1), ("cai", 1, 1)]
    assert (figures.opened, figures.closed, figures.to_heads, figures.to_customer_service) == (5, 2, 1, 1)
    # One day alone: a complaint opened before it and still open counts at its end.
    day2 = complaints.figures(session, DAY2, DAY2)
    assert day2.days == [(DAY2, 1, 1, 2)] and [(s.username, n) for s, n, _ in day2.per_staff] == [("cai", 1)]
    still_open, closed = complaints.listing(session, DAY1, DAY3)
    assert [x.id for x in still_open] == [c.id, d.id, e.id]  # oldest first
    assert [x.id for x in closed] == [a.id, b.id]  # latest closed first


def test_the_complaints_page_shows_the_lists_and_the_figures(app, api, query, frozen_clock):
    query(lambda s: (opened(s, about="amy", what="第一天的投诉"), opened(s, about="amy", what="第二个")))
    frozen_clock.advance(days=1)
    query(lambda s: opened(s, about="cai", what="第二天的投诉"))
    desk = english(Staffer(app, "desk"))
    page = desk.get("/admin/complaints?start=2026-03-10&end=2026-03-11").get_data(as_text=True)
    assert "第一天的投诉" in page and "第二天的投诉" in page
    per_day = re.findall(r'<tr data-day="([0-9-]+)"[^>]*><td>[0-9-]+</td><td class="num">(\d+)</td>'
                         r'<td class="num">(\d+)</td><td class="num">(\d+)</td>', page)
    assert per_day == [("2026-03-11", "1", "0", "3"), ("2026-03-10", "2", "0", "2")]
    assert 'data-staff="amy"' in page and 'data-staff="cai"' in page
    # Days the wrong way round, or nonsense, still give a page.
    assert desk.get("/admin/complaints?start=2026-03-11&end=2026-03-01").status_code == 200
    assert desk.get("/admin/complaints?start=²&end=9999-99-99").status_code == 200


def test_a_recurrence_is_said_on_the_record(session, clinic, frozen_clock):
    client = new_client(session, name="王芳")
    session.commit()
    old_closed = opened(session, about="amy", what="很久以前")
    with unit_of_work(session):
        complaints.close(session, old_closed, resolution="ok", actor=ACTOR)
    old_open = opened(session, about="bea", what="还没处理完")
    frozen_clock.advance(days=40)
    recent = opened(session, about="amy", client=client, what="上个月")
    frozen_clock.advance(days=2)
    new = opened(session, about="amy", what="又是她")
    by_client = opened(session, client=client, what="同一位客户")
    by_bea = opened(session, about="bea", what="又是 Bea")
    assert complaints.recurrences(session, new) == [recent]          # the closed one is 42 days old
    assert complaints.recurrences(session, by_client) == [recent]
    assert complaints.recurrences(session, by_bea) == [old_open]     # still open: however old
    assert complaints.recurrences(session, opened(session, what="无关")) == []


def test_the_record_page_says_it_is_not_the_first_time(app, api, query, frozen_clock):
    query(lambda s: opened(s, about="amy", what="第一次"))
    frozen_clock.advance(days=1)
    second = query(lambda s: opened(s, about="amy", what="第二次").public_id)
    page = english(Staffer(app, "desk")).get(f"/admin/complaints/{second}").get_data(as_text=True)
    assert 'data-recurs="1"' in page and "Amy is named in 1 other complaint" in page and "第一次" in page


# --- webhooks, settings, roles ------------------------------------------------------------------------


def test_opening_and_closing_are_sent_to_the_clinics_systems(session, clinic):
    session.add_all([WebhookEndpoint(url="http://127.0.0.1:9/crm", secret="s", events=[], personal_data=True),
                     WebhookEndpoint(url="http://127.0.0.1:9/sms", secret="s", events=["complaint.closed"],
                                     personal_data=False),
                     WebhookEndpoint(url="http://127.0.0.1:9/other", secret="s", events=["visit.finished"])])
    session.commit()
    client = new_client(session, name="周敏")
    session.commit()
    complaint = opened(session, line="surgery", about="cai", client=client)
    with unit_of_work(session):
        complaints.escalate(session, complaint, actor=ACTOR)  # surgery has no head: customer service
        complaints.close(session, complaint, resolution="已处理", actor=ACTOR)
    sent = [(d.endpoint.url.rsplit("/", 1)[1], d.event, d.payload["data"])
            for d in session.query(WebhookDelivery).order_by(WebhookDelivery.id)]
    assert [(where, event) for where, event, _ in sent] == [("crm", "complaint.opened"), ("crm", "complaint.closed"),
                                                           ("sms", "complaint.closed")]
    first, closed_crm, closed_sms = (data for _, _, data in sent)
    assert (first["complaint"], first["day"], first["line"], first["about_staff"], first["escalated_to"],
            first["received_by"]) == (complaint.public_id, "2026-03-10", "surgery", "cai", None, "desk")
    assert (first["name"], first["phone"]) == ("周敏", client.phone)
    assert closed_crm["escalated_to"] == "customer_service" and closed_crm["closed_at"]
    assert "name" not in closed_sms and "phone" not in closed_sms and "what_happened" not in closed_crm


def test_an_admin_sets_the_heads_and_customer_service(app, api, query):
    ids = query(lambda s: {"surgery": s.query(Line).filter_by(code="surgery").one().id,
                           "sun": s.query(Staff).filter_by(username="dr_sun").one().id,
                           "desk": s.query(Staff).filter_by(username="desk").one().id})
    admin = english(Staffer(app, "admin"))
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert 'data-complaint-routing' in page and f'name="head-{ids["surgery"]}"' in page
    refused = admin.post("/admin/complaints/routing", {"customer_service": "客服部",
                                                       f"head-{ids['surgery']}": str(ids["desk"])})
    assert refused.status_code == 422 and "A department head must be an active consultant or doctor" in refused.get_data(as_text=True)
    assert query(lambda s: s.get(Line, ids["surgery"]).head_id) is None
    saved = admin.post("/admin/complaints/routing", {"customer_service": CUSTOMER_SERVICE,
                                                     f"head-{ids['surgery']}": str(ids["sun"])})
    assert saved.status_code == 200 and "Saved: where complaints go." in saved.get_data(as_text=True)
    assert query(lambda s: (s.get(Line, ids["surgery"]).head.username, s.query(ClinicSettings).one().customer_service)) \
        == ("dr_sun", CUSTOMER_SERVICE)
    assert Staffer(app, "desk").post("/admin/complaints/routing", {"customer_service": "x"}).status_code == 403


@pytest.mark.parametrize("username", ["bea", "dr_sun"])
def test_consultants_and_doctors_see_no_complaint(app, api, query, username):
    desk = Staffer(app, "desk")
    register_complaint(desk)
    visit_id, complaint_id = query(lambda s: (s.query(Visit).one().public_id, s.query(Complaint).one().public_id))
    care = Staffer(app, username)
    for path in ("/admin/complaints", f"/admin/complaints/{complaint_id}", f"/admin/complaints/visit/{visit_id}",
                 f"/admin/visits/{visit_id}"):
        assert care.get(path).status_code == 403, path
    for path in ("/admin/complaints", f"/admin/complaints/{complaint_id}/calm",
                 f"/admin/complaints/{complaint_id}/escalate", f"/admin/complaints/{complaint_id}/close"):
        assert care.post(path, {"what_happened": "x", "calming_note": "x", "resolution": "x"}).status_code == 403, path
    assert query(lambda s: (s.query(Complaint).one().closed_at, s.query(Complaint).count())) == (None, 1)
    # Nor in their own queue: the nav has no complaints link, the list no complaint row.
    queue = care.get("/admin/").get_data(as_text=True)
    assert "赵丽" not in queue and "/admin/complaints" not in queue


# --- never on a public screen, in a consultant's queue or called next ---------------------------------


def test_a_complaint_never_reaches_the_board_a_consultants_queue_or_call_next(app, api, query, client):
    desk = Staffer(app, "desk")
    register_complaint(desk, name="投诉人", phone="13600136009")
    complaint_ticket = query(lambda s: s.query(Visit).one().ticket)
    board_socket = socketio.test_client(app, namespace="/display")
    # Call-next for anyone finds nobody while only the complaint waits.
    for who in ("amy", "bea", "dr_sun"):
        assert api.post(f"/api/v1/consultants/{who}/call-next").status_code == 409
    walk_in = api.post("/api/v1/visits", json={"name": "欧阳娜娜", "phone": "13912345678", "kind": "walk-in",
                                               "service": "peel"}).get_json()
    board = client.get("/display/").get_data(as_text=True)
    assert walk_in["ticket"] in board and complaint_ticket not in board and "投" not in board
    pushed = [m["args"][0]["html"] for m in board_socket.get_received("/display") if m["name"] == "board"]
    assert pushed and all(complaint_ticket not in html and "投诉人" not in html for html in pushed)
    assert walk_in["ticket"] in pushed[-1]
    called = api.post("/api/v1/consultants/amy/call-next").get_json()
    assert called["ticket"] == walk_in["ticket"]
    assert api.post("/api/v1/consultants/bea/call-next").status_code == 409
    for who in ("amy", "bea"):
        queue = Staffer(app, who).get("/admin/").get_data(as_text=True)
        assert "投诉人" not in queue and f'data-ticket="{complaint_ticket}"' not in queue
    assert query(lambda s: s.query(Visit).filter_by(kind=VisitKind.COMPLAINT).one().status) == VisitStatus.WAITING


def test_erasing_the_complainant_keeps_the_record_and_its_figures_but_not_her_account(session, clinic):
    from lobby.domain.privacy_lifecycle import erase_client

    client = new_client(session, "李雪")
    complaint = opened(session, what="李雪说：咨询师态度很差", about="amy", client=client)
    complaints.calm(session, complaint, note="已道歉", actor=ACTOR)
    session.commit()
    erase_client(session, client, actor=ACTOR)
    session.commit()
    session.refresh(complaint)
    assert (complaint.what_happened, complaint.calming_note) == ("—", None)
    assert complaint.about_staff_id == clinic.staff.amy.id and complaint.clinic_day is not None
