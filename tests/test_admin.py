"""The front-desk panel: roles on every route, CSRF, login hardening, actions with their audit,
two staff at once, the rotation board and a consultant's own queue."""

import re
import time

import pytest

from admin.auth import ROUTE_ROLES
from lobby.models import (
    Appointment,
    AppointmentStatus,
    AuditEntry,
    DutyStatus,
    HealthQuestionnaire,
    Role,
    Service,
    Staff,
    Visit,
    VisitStatus,
)

from .factories import PASSWORD

# Every admin route and fragment, with a request that reaches its view.
ROUTES = [
    ("index", "GET", "/admin/"),
    ("act", "POST", "/admin/visits/{visit}/act"),
    ("reassign", "POST", "/admin/visits/{visit}/reassign"),
    ("wait_told", "POST", "/admin/visits/{visit}/told"),
    ("note", "POST", "/admin/visits/{visit}/note"),
    ("call_next", "POST", "/admin/call-next"),
    ("rotation", "GET", "/admin/rotation"),
    ("duty", "POST", "/admin/rotation/{amy}/duty"),
    ("move", "POST", "/admin/rotation/{amy}/move"),
    ("visit_detail", "GET", "/admin/visits/{visit}"),
    ("visit_answers", "GET", "/admin/visits/{visit}/answers"),
    ("appointments", "GET", "/admin/appointments"),
    ("book", "POST", "/admin/appointments"),
    ("cancel_appointment", "POST", "/admin/appointments/{booking}/cancel"),
    ("check_in_appointment", "POST", "/admin/appointments/{booking}/check-in"),
    ("appointment_detail", "GET", "/admin/appointments/{booking}"),
    ("import_appointments", "POST", "/admin/appointments/import"),
    ("register_kiosk", "POST", "/admin/settings/kiosk/register"),
    ("sign_out_kiosks", "POST", "/admin/settings/kiosk/sign-out"),
    ("fill_questionnaire", "GET", "/admin/visits/{visit}/questionnaire"),
    ("erase_client", "POST", "/admin/clients/{client}/erase"),
    ("resolve_identity", "POST", "/admin/visits/{visit}/identity"),
    ("edit_client", "POST", "/admin/visits/{visit}/client"),
    ("audit_trail", "GET", "/admin/audit"),
    ("reports", "GET", "/admin/reports"),
    ("settings_page", "GET", "/admin/settings?section=lines"),
    ("save_settings", "POST", "/admin/settings/partners"),
    ("export_report", "GET", "/admin/reports/export?table=by_kind"),
    ("report_trends", "GET", "/admin/reports/trends"),
    ("register", "GET", "/admin/register"),
    ("register_visitor", "POST", "/admin/register"),
    ("show_roster", "GET", "/admin/roster"),
    ("save_roster", "POST", "/admin/roster"),
    ("follow_ups_page", "GET", "/admin/follow-ups"),
    ("mark_contacted", "POST", "/admin/follow-ups/thanks/{visit}/contacted"),
    ("record_outcome", "POST", "/admin/visits/{visit}/outcome"),
    ("partner_registrations", "GET", "/admin/partners"),
    ("register_partner_client", "POST", "/admin/partners"),
    ("verify_partner", "POST", "/admin/visits/{visit}/verify-partner"),
    ("copy_roster", "POST", "/admin/roster/copy"),
    ("edit_care", "POST", "/admin/visits/{visit}/care"),
    ("become_walk_in", "POST", "/admin/visits/{visit}/walk-in"),
    ("add_webhook", "POST", "/admin/settings/webhooks/endpoints"),
    ("switch_webhook", "POST", "/admin/settings/webhooks/1/active"),
    ("delete_webhook", "POST", "/admin/settings/webhooks/1/delete"),
    ("test_webhook", "POST", "/admin/settings/webhooks/1/test"),
    ("retry_webhook", "POST", "/admin/settings/webhooks/deliveries/none/retry"),
    ("complaints_page", "GET", "/admin/complaints"),
    ("open_new_complaint", "POST", "/admin/complaints"),
    ("complaint_for_visit", "GET", "/admin/complaints/visit/{visit}"),
    ("complaint_detail", "GET", "/admin/complaints/none"),
    ("calm_complaint", "POST", "/admin/complaints/none/calm"),
    ("escalate_complaint", "POST", "/admin/complaints/none/escalate"),
    ("close_complaint", "POST", "/admin/complaints/none/close"),
    ("save_complaint_routing", "POST", "/admin/complaints/routing"),
    ("logout", "POST", "/admin/logout"),
]
ROLE_USERS = {Role.ADMIN: "admin", Role.FRONTDESK: "desk", Role.CONSULTANT: "bea", Role.DOCTOR: "dr_sun"}


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    return frozen_clock


class Staffer:
    def __init__(self, app, username):
        self.client = app.test_client()
        page = self.client.get("/admin/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = self.client.post("/admin/login", data={"username": username, "password": PASSWORD,
                                                          "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        # The session (and its CSRF secret) is new after login: take the token the panel now carries.
        panel = self.client.get("/admin/").get_data(as_text=True)
        self.csrf = re.search(r'"X-CSRFToken": "([^"]+)"', panel).group(1)

    def get(self, path, **kw):
        return self.client.get(path, headers={"HX-Request": "true"}, **kw)

    def post(self, path, data=None):
        return self.client.post(path, data=data or {}, headers={"HX-Request": "true", "X-CSRFToken": self.csrf})


def walk_in(api, **extra):
    body = {"name": "欧阳娜娜", "phone": "13912345678", "kind": "walk-in", "service": "peel", **extra}
    response = api.post("/api/v1/visits", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def ids(query):
    def look(session):
        found = {u: session.query(Staff).filter_by(username=u).one().id for u in ("amy", "bea")}
        booking = session.query(Appointment).first()
        found["booking"] = booking.public_id if booking else "none"
        visit = session.query(Visit).first()
        found["client"] = visit.client.public_id if visit and visit.client else "none"
        return found

    return query(look)


@pytest.fixture
def booking(api):
    response = api.post("/api/v1/appointments", json={"name": "王小美", "phone": "13800138000", "service": "peel",
                                                      "starts_at": "2026-03-10T10:30:00+08:00"})
    assert response.status_code == 201
    return response.get_json()


def test_every_admin_view_declares_its_roles(app):
    views = {app.view_functions[rule.endpoint].__name__ for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith("admin.") and rule.endpoint != "admin.login"}
    assert views == set(ROUTE_ROLES) == {name for name, _, _ in ROUTES}


@pytest.mark.parametrize("name,method,path", ROUTES)
def test_anonymous_users_are_sent_to_the_login(app, api, query, booking, name, method, path):
    visit = walk_in(api)
    url = path.format(visit=visit["id"], **ids(query))
    client = app.test_client()
    plain = client.open(url, method=method)
    assert plain.status_code in (302, 400)  # 400: a POST without a CSRF token never reaches the view
    if plain.status_code == 302:
        assert "/admin/login" in plain.headers["Location"]
    htmx = client.open(url, method=method, headers={"HX-Request": "true"})
    assert htmx.status_code in (401, 400)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("name,method,path", ROUTES)
def test_each_role_reaches_only_its_routes(app, api, query, booking, role, name, method, path):
    # A consultant or doctor acts on their own visitors (another's gives 403 on purpose).
    visit = walk_in(api, consultant="bea")
    if role == Role.DOCTOR:  # a visitor handed to the doctor: he may open and act on it
        for step in ({"to": "called"}, {"to": "with_consultant"}, {"to": "with_doctor", "doctor": "dr_sun"}):
            assert api.post(f"/api/v1/visits/{visit['id']}/transition", json=step).status_code == 200
    staff = Staffer(app, ROLE_USERS[role])
    url = path.format(visit=visit["id"], **ids(query))
    data = {"action": "call", "status": "available", "direction": "down", "note": "x", "reason": "x",
            "consultant": str(ids(query)["bea"])}
    response = staff.get(url) if method == "GET" else staff.post(url, data)
    if role in ROUTE_ROLES[name]:
        assert response.status_code not in (401, 403, 500), (name, role)
    else:
        assert response.status_code == 403, (name, role)


def test_a_post_without_the_csrf_token_is_rejected(app, api, query):
    visit = walk_in(api)
    staff = Staffer(app, "desk")
    response = staff.client.post(f"/admin/visits/{visit['id']}/act", data={"action": "call"},
                                 headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert query(lambda s: s.query(Visit).one().status) == VisitStatus.WAITING


def test_login_starts_a_fresh_session(app, api):
    client = app.test_client()
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/admin/login", data={"username": "desk", "password": PASSWORD, "csrf_token": token})
    with client.session_transaction() as session:
        assert "planted" not in session and session.get("_user_id")


def test_failed_logins_are_throttled(app, api):
    client = app.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    statuses = [client.post("/admin/login", data={"username": "desk", "password": "wrong", "csrf_token": token})
                .status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    right = client.post("/admin/login", data={"username": "desk", "password": PASSWORD, "csrf_token": token})
    assert right.status_code == 429  # even the right password waits out the lock


def test_a_disabled_account_cannot_log_in(app, api, query):
    def disable(session):
        session.query(Staff).filter_by(username="desk").one().active = False
        session.commit()

    query(disable)
    with pytest.raises(AssertionError):
        Staffer(app, "desk")


def test_an_idle_staff_session_expires(app, api, query):
    staff = Staffer(app, "desk")
    assert staff.get("/admin/").status_code == 200
    with staff.client.session_transaction() as session:
        session["seen_at"] = time.time() - 31 * 60  # the clinic allows 30 minutes
    response = staff.get("/admin/")
    assert response.status_code == 401 and response.headers["HX-Redirect"].endswith("/admin/login")


def test_the_list_shows_what_the_desk_needs(app, api, query):
    visit = walk_in(api)

    def questionnaire(session):
        stored = session.query(Visit).filter_by(public_id=visit["id"]).one()
        session.add(HealthQuestionnaire(visit_id=stored.id, answers={}, flags=["allergy", "anticoagulant"],
                                        consent_privacy=True))
        session.commit()

    query(questionnaire)
    html = Staffer(app, "desk").get("/admin/").get_data(as_text=True)
    assert "欧阳娜娜" in html and "A001" in html and "过敏" in html and "抗凝" in html


def test_a_long_wait_is_highlighted_and_counted(app, api, frozen_clock):
    walk_in(api)
    staff = Staffer(app, "desk")
    assert "long-wait" not in staff.get("/admin/").get_data(as_text=True)
    frozen_clock.advance(minutes=21)
    html = staff.get("/admin/").get_data(as_text=True)
    assert 'class="row-waiting long-wait"' in html and "1 人等候超过 20 分钟" in html


def test_filters_by_line_and_consultant(app, api, query):
    walk_in(api, consultant="amy")
    walk_in(api, phone="13912345679", service="nose")
    staff = Staffer(app, "desk")
    assert "B001" not in staff.get("/admin/?line=skin").get_data(as_text=True)
    only_amy = staff.get(f"/admin/?consultant={ids(query)['amy']}").get_data(as_text=True)
    assert "A001" in only_amy and "B001" not in only_amy


def test_each_action_is_audited_with_who_did_it(app, api, query):
    visit = walk_in(api, consultant="amy")
    staff = Staffer(app, "desk")
    path = f"/admin/visits/{visit['id']}/act"
    doctor = query(lambda s: s.query(Staff).filter_by(username="dr_sun").one().id)
    for action, expected in (("call", "waiting"), ("recall", "called"), ("start", "called"),
                             ("doctor", "with_consultant"), ("finish", "with_doctor")):
        response = staff.post(path, {"action": action, "expected": expected, "doctor": str(doctor)})
        assert response.status_code == 200, (action, response.get_data(as_text=True)[:300])
    staff.post(f"/admin/visits/{visit['id']}/note", {"note": "prefers Mandarin"})
    entries = query(lambda s: [(e.action, e.actor.username if e.actor else None)
                               for e in s.query(AuditEntry).order_by(AuditEntry.id)])
    assert entries[0] == ("check_in", None) and ("login", "desk") in entries  # logins are audited too
    assert [e for e in entries if e[0] not in ("check_in", "login")] == [
        ("called", "desk"), ("recall", "desk"), ("with_consultant", "desk"), ("with_doctor", "desk"),
        ("done", "desk"), ("client_care", "desk"), ("note", "desk")]  # a first consultation makes Amy her own


def test_two_staff_acting_at_once_get_a_deterministic_result(app, api, query):
    visit = walk_in(api, consultant="amy")
    first, second = Staffer(app, "desk"), Staffer(app, "admin")
    path = f"/admin/visits/{visit['id']}/act"
    # Both screens showed the visitor waiting; both press "call".
    assert first.post(path, {"action": "call", "expected": "waiting"}).status_code == 200
    late = second.post(path, {"action": "call", "expected": "waiting"})
    assert late.status_code == 409 and "同事" in late.get_data(as_text=True)
    stored = query(lambda s: (s.query(Visit).one().status, s.query(Visit).one().recall_count))
    assert stored == (VisitStatus.CALLED, 0)  # called once, not recalled by the second click


def test_reassignment_by_two_staff_at_once(app, api, query):
    visit = walk_in(api, consultant="amy")
    first, second = Staffer(app, "desk"), Staffer(app, "admin")
    bea = ids(query)["bea"]
    path = f"/admin/visits/{visit['id']}/reassign"
    assert first.post(path, {"to_consultant": str(bea), "reason": "换人咨询", "expected": "waiting"}).status_code == 200
    first.post(f"/admin/visits/{visit['id']}/act", {"action": "call", "expected": "waiting"})
    late = second.post(path, {"to_consultant": str(bea), "reason": "换人咨询", "expected": "waiting"})
    assert late.status_code == 409
    assert query(lambda s: s.query(Visit).one().consultant.username) == "bea"


def test_two_staff_reassigning_at_once_get_one_200_and_one_409(app, api, query):
    """Both screens showed the visitor waiting for Amy; one colleague picks Bea, the other Cai, at once."""
    import threading

    from lobby.models import Reassignment

    visit = walk_in(api, consultant="amy")
    amy = query(lambda s: s.query(Staff).filter_by(username="amy").one().id)
    targets = {"bea": ids(query)["bea"], "cai": query(lambda s: s.query(Staff).filter_by(username="cai").one().id)}
    desks = {name: Staffer(app, user) for name, user in (("bea", "desk"), ("cai", "admin"))}
    start, results = threading.Barrier(2), {}

    def reassign(name):
        form = {"to_consultant": str(targets[name]), "reason": "换人咨询", "expected": "waiting",
                "expected_consultant": str(amy), "expected_line": "1"}
        start.wait()
        results[name] = desks[name].post(f"/admin/visits/{visit['id']}/reassign", form)

    threads = [threading.Thread(target=reassign, args=(name,)) for name in desks]
    [t.start() for t in threads]
    [t.join() for t in threads]
    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [200, 409]
    winner = next(name for name, r in results.items() if r.status_code == 200)
    loser = next(r for r in results.values() if r.status_code == 409)
    assert "同事刚刚更新了这位客户" in loser.get_data(as_text=True)
    assert query(lambda s: s.query(Visit).one().consultant.username) == winner
    assert query(lambda s: s.query(Reassignment).count()) == 1


def test_reassigning_keeps_the_receptionists_filter_and_says_what_happened(app, api, query):
    """The list was filtered to Amy's visitors; moving one of them to Bea keeps showing Amy's (the
    moved row leaves the view) and confirms "A001 → Bea" instead of silently switching to Bea's."""
    moved = walk_in(api, consultant="amy")
    stays = walk_in(api, phone="13912345679", consultant="amy")
    walk_in(api, phone="13912345670", consultant="bea")
    who = ids(query)
    page = Staffer(app, "desk").post(f"/admin/visits/{moved['id']}/reassign", {
        "to_consultant": str(who["bea"]), "reason": "换人咨询", "expected": "waiting",
        # hx-include="#queue-filters": the list's own filter travels with the action.
        "consultant": str(who["amy"]), "line": "", "sort": "arrival"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'data-ticket="{stays["ticket"]}"' in html and f'data-ticket="{moved["ticket"]}"' not in html
    assert 'data-ticket="A003"' not in html  # Bea's own visitor: not in Amy's list
    assert f"{moved['ticket']} → Bea" in html
    assert re.search(r'<option value="%s" selected>' % who["amy"], html)  # the filter still reads Amy
    assert query(lambda s: s.get(Visit, 1).consultant.username) == "bea"


def test_reassign_needs_a_reason_and_says_so(app, api):
    visit = walk_in(api)
    response = Staffer(app, "desk").post(f"/admin/visits/{visit['id']}/reassign", {"to_line": "surgery", "reason": ""})
    assert response.status_code == 422 and "请填写原因" in response.get_data(as_text=True)


def test_a_consultant_sees_and_calls_only_their_own_visitors(app, api, query):
    mine = walk_in(api, consultant="bea")
    other = walk_in(api, phone="13912345679", consultant="amy")
    bea = Staffer(app, "bea")
    html = bea.get("/admin/").get_data(as_text=True)
    assert mine["ticket"] in html and other["ticket"] not in html
    assert bea.post(f"/admin/visits/{other['id']}/act", {"action": "call"}).status_code == 403
    assert bea.post("/admin/call-next").status_code == 200
    assert query(lambda s: s.query(Visit).filter_by(public_id=mine["id"]).one().status) == VisitStatus.CALLED


def test_rotation_board_shows_who_is_next_and_changes_duty(app, api, query):
    staff = Staffer(app, "desk")
    html = staff.get("/admin/rotation").get_data(as_text=True)
    assert re.search(r'class="next-turn duty-available" data-consultant="amy"', html)
    response = staff.post(f"/admin/rotation/{ids(query)['amy']}/duty", {"status": "away"})
    assert re.search(r'class="next-turn duty-available" data-consultant="bea"', response.get_data(as_text=True))
    assert query(lambda s: s.query(Staff).filter_by(username="amy").one().duty_status) == DutyStatus.AWAY
    # Triage follows the board: the next walk-in goes to bea.
    assert walk_in(api)["consultant"] == "bea"


def test_only_an_admin_reorders_the_board(app, api, query):
    admin = Staffer(app, "admin")
    admin.post(f"/admin/rotation/{ids(query)['amy']}/move", {"direction": "down"})
    order = query(lambda s: [m.username for m in s.query(Staff).filter_by(role=Role.CONSULTANT)
                             .order_by(Staff.rotation_order)])
    assert order[:2] == ["bea", "amy"]


def test_visitor_detail_and_opening_the_answers_is_audited(app, api, query):
    visit = walk_in(api)

    def answers(session):
        stored = session.query(Visit).filter_by(public_id=visit["id"]).one()
        session.add(HealthQuestionnaire(visit_id=stored.id, answers={"allergy_detail": "penicillin-7731",
                                                                     "allergies": ["drugs"], "pregnancy": "no"},
                                        flags=["allergy"], consent_privacy=True))
        session.commit()

    query(answers)
    staff = Staffer(app, "desk")
    page = staff.client.get(f"/admin/visits/{visit['id']}").get_data(as_text=True)
    assert "+8613912345678" in page and "过敏" in page and "penicillin-7731" not in page
    assert query(lambda s: s.query(AuditEntry).filter_by(action="view_answers").count()) == 0
    opened = staff.get(f"/admin/visits/{visit['id']}/answers").get_data(as_text=True)
    assert "penicillin-7731" in opened
    entry = query(lambda s: [(e.actor.username, e.detail) for e in s.query(AuditEntry).filter_by(action="view_answers")])
    assert entry == [("desk", {})]  # who looked, and never the answers themselves


def test_staff_read_none_apart_from_not_answered(app, api, query):
    """无 (the visitor ticked "none") and "not answered" (left blank) are different facts for a doctor."""
    visit = walk_in(api)

    def answers(session):
        stored = session.query(Visit).filter_by(public_id=visit["id"]).one()
        session.add(HealthQuestionnaire(visit_id=stored.id, answers={
            "allergies": ["none"], "allergy_detail": "", "chronic": [], "medication": ["anticoagulants"],
            "medication_detail": "", "surgery_history": "", "procedure_history": "", "surgery_none": True,
            "pregnancy": "not_asked", "smoking": "no"}, flags=["anticoagulant"], consent_privacy=True))
        session.commit()

    query(answers)
    opened = Staffer(app, "desk").get(f"/admin/visits/{visit['id']}/answers").get_data(as_text=True)
    facts = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", opened, re.S))
    clean = {k: re.sub(r"<[^>]+>", "", v).strip() for k, v in facts.items()}
    assert clean["过敏史"] == "无"
    assert clean["既往手术及医美项目（请注明大致时间）"] == "无"
    assert clean["您是否有以下情况？"] == "未填写"
    assert clean["您目前是否在服用以下药物？"] != "未填写" and clean["您目前是否在服用以下药物？"] != "无"
    assert clean["妊娠或哺乳"] == "未询问（不适用）"


def test_the_desk_books_edits_and_cancels_an_appointment(app, api, query):
    staff = Staffer(app, "desk")
    peel = query(lambda s: s.query(__import__("lobby.models", fromlist=["Service"]).Service)
                 .filter_by(code="peel").one().id)
    bad = staff.post("/admin/appointments", {"name": "王小美", "phone": "123", "date": "2026-03-10", "time": "15:00",
                                             "service": str(peel)})
    assert bad.status_code == 422 and "手机号码无效" in bad.get_data(as_text=True)
    assert query(lambda s: s.query(Appointment).count()) == 0
    made = staff.post("/admin/appointments", {"name": "王小美", "phone": "13800138000", "date": "2026-03-10",
                                              "time": "15:00", "service": str(peel)})
    assert made.status_code == 200 and "15:00" in made.get_data(as_text=True)
    booking_id = query(lambda s: s.query(Appointment).one().public_id)
    code = query(lambda s: s.query(Appointment).one().code)
    saved = made.get_data(as_text=True)  # the code and QR to give the visitor, at once
    assert f'data-saved-code="{code}"' in saved and "/qr.png" in saved
    staff.post("/admin/appointments", {"id": booking_id, "name": "王小美", "phone": "13800138000",
                                       "date": "2026-03-10", "time": "16:30", "service": str(peel)})
    assert query(lambda s: s.query(Appointment).one().starts_at.hour) == 8  # 16:30 in Shanghai
    confirmation = staff.client.get(f"/admin/appointments/{booking_id}").get_data(as_text=True)
    assert "/kiosk/a/" in confirmation and "qr.png" in confirmation and "16:30" in confirmation
    staff.post(f"/admin/appointments/{booking_id}/cancel")
    assert query(lambda s: s.query(Appointment).one().status) == AppointmentStatus.CANCELLED


def test_the_desk_finds_an_arrival_and_checks_in_their_appointment(app, api, query, frozen_clock):
    """A booked visitor without their QR code: found by name or the last digits of their phone, then
    checked in from the row, even early (the visitor is at the desk), once however often it is sent."""
    for name, phone, at in (("王小美", "13800131234", "2026-03-10T13:00:00+08:00"),
                            ("李雪", "13900135678", "2026-03-10T15:00:00+08:00")):
        api.post("/api/v1/appointments", json={"name": name, "phone": phone, "service": "peel", "starts_at": at})
    desk = Staffer(app, "desk")
    found = desk.get("/admin/appointments?q=1234").get_data(as_text=True)
    assert "王小美" in found and "李雪" not in found
    assert "李雪" in desk.get("/admin/appointments?q=李").get_data(as_text=True)
    assert "没有" in desk.get("/admin/appointments?q=赵").get_data(as_text=True)
    booking = query(lambda s: s.query(Appointment).filter(Appointment.client.has(name="王小美")).one().public_id)
    path = f"/admin/appointments/{booking}/check-in"
    done = desk.post(path, {"key": f"desk-{booking}"})  # 10:00, three hours early: the kiosk would refuse
    assert done.status_code == 200 and "王小美" in done.get_data(as_text=True) and "A001" in done.get_data(as_text=True)
    assert desk.post(path, {"key": f"desk-{booking}"}).status_code == 200  # a double click: the same visit
    assert query(lambda s: s.query(Visit).count()) == 1
    assert query(lambda s: s.query(Appointment).filter_by(public_id=booking).one().status) \
        == AppointmentStatus.CHECKED_IN
    again = desk.post(path, {"key": "another"})
    assert again.status_code == 409 and "已签到" in again.get_data(as_text=True)


def test_the_day_list_shows_late_and_checked_in(app, api, frozen_clock):
    api.post("/api/v1/appointments", json={"name": "甲", "phone": "13800138001", "service": "peel",
                                           "starts_at": "2026-03-10T10:05:00+08:00"})
    frozen_clock.advance(minutes=40)  # 10:40: 35 minutes past, the clinic's late window is 30
    html = Staffer(app, "desk").get("/admin/appointments").get_data(as_text=True)
    assert "appt-late" in html and "迟到" in html


CSV = """name,phone,starts_at,service,consultant,external_id
王小美,13800138000,2026-03-10T15:00,peel,amy,crm-1
李雪,12345,2026-03-10T15:30,peel,,crm-2
赵敏,13700137000,2026-03-10T16:00,no-such-service,,crm-3
周芳,13600136000,2026-03-10T16:30,nose,,crm-4
"""


def csv_upload(staff, text, encoding="utf-8"):
    import io

    return staff.client.post("/admin/appointments/import", data={"file": (io.BytesIO(text.encode(encoding)), "day.csv")},
                             headers={"HX-Request": "true", "X-CSRFToken": staff.csrf},
                             content_type="multipart/form-data")


def test_csv_import_takes_good_rows_and_reports_bad_ones(app, api, query):
    staff = Staffer(app, "desk")
    response = csv_upload(staff, CSV)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r"第 3 行.*手机号码无效", html) and re.search(r"第 4 行.*no-such-service", html)
    stored = query(lambda s: sorted((a.external_id, a.client.name) for a in s.query(Appointment)))
    assert stored == [("crm-1", "王小美"), ("crm-4", "周芳")]
    # Nothing half-written: the rejected rows left no client behind.
    assert query(lambda s: sorted(c.name for c in s.query(__import__("lobby.models", fromlist=["Client"]).Client))) \
        == ["周芳", "王小美"]
    again = csv_upload(staff, CSV, encoding="gb18030").get_data(as_text=True)
    assert "新增 0 条" in again and "更新 2 条" in again
    assert query(lambda s: s.query(Appointment).count()) == 2


def test_csv_import_without_the_needed_columns(app, api, query):
    html = csv_upload(Staffer(app, "desk"), "who,when\nx,y\n").get_data(as_text=True)
    assert "name, phone, starts_at, service" in html
    assert query(lambda s: s.query(Appointment).count()) == 0


def test_the_desk_registers_a_visitor_with_the_kiosks_checks(app, api, query, frozen_clock):
    staff = Staffer(app, "desk")
    peel = query(lambda s: s.query(__import__("lobby.models", fromlist=["Service"]).Service)
                 .filter_by(code="peel").one().id)
    bad = staff.post("/admin/register", {"kind": "walk-in", "name": "", "phone": "1", "service": str(peel)})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "请输入姓名。" in html and "手机号码无效" in html and "请输入出生年份" in html
    assert query(lambda s: s.query(Visit).count()) == 0
    data = {"kind": "walk-in", "name": "李雪", "phone": "13900139000", "gender": "female", "birth_year": "1988",
            "service": str(peel), "key": "desk-form-1"}
    made = staff.post("/admin/register", data)
    assert made.status_code == 200 and 'data-registered="A001"' in made.get_data(as_text=True)
    assert 'data-registered="A001"' in staff.post("/admin/register", data).get_data(as_text=True)  # re-sent
    assert query(lambda s: s.query(Visit).count()) == 1
    frozen_clock.advance(days=1)  # she comes back another day (today she holds A001: the desk is warned)
    returning = staff.post("/admin/register", {"kind": "returning", "name": "李雪", "phone": "13900139000"})
    assert returning.status_code == 200
    assert query(lambda s: [v.kind.value for v in s.query(Visit).order_by(Visit.id)]) == ["walk-in", "returning"]


@pytest.mark.parametrize("steps,audited", [
    ([("call", "waiting"), ("skip", "called")], "no_show"),
    ([("call", "waiting"), ("skip", "called"), ("requeue", "no_show")], "waiting"),
    ([("left", "waiting")], "left"),
])
def test_skip_requeue_and_left_are_audited(app, api, query, steps, audited):
    visit = walk_in(api, consultant="amy")
    staff = Staffer(app, "desk")
    for action, expected in steps:
        assert staff.post(f"/admin/visits/{visit['id']}/act", {"action": action, "expected": expected}).status_code == 200
    last = query(lambda s: s.query(AuditEntry).order_by(AuditEntry.id.desc()).first())
    assert (last.action, last.actor_id is not None) == (audited, True)


def test_the_edit_link_fills_the_booking_form(app, api, booking):
    html = Staffer(app, "desk").get(f"/admin/appointments?date=2026-03-10&edit={booking['id']}").get_data(as_text=True)
    assert f'name="id" value="{booking["id"]}"' in html and 'value="10:30"' in html


def test_the_questionnaire_can_be_filled_in_later_at_the_desk(app, api, query):
    visit = walk_in(api)
    staff = Staffer(app, "desk")
    path = f"/admin/visits/{visit['id']}/questionnaire"
    assert 'name="consent_privacy"' in staff.client.get(path).get_data(as_text=True)
    missing = staff.client.post(path, data={"csrf_token": staff.csrf, "pregnancy": "no", "smoking": "no"})
    assert missing.status_code == 422 and "请同意隐私声明" in missing.get_data(as_text=True)
    saved = staff.client.post(path, data={"csrf_token": staff.csrf, "pregnancy": "pregnant", "smoking": "no",
                                          "consent_privacy": "1"})
    assert saved.status_code == 302
    assert query(lambda s: s.query(HealthQuestionnaire).one().flags) == ["pregnancy"]
    assert query(lambda s: s.query(AuditEntry).filter_by(action="questionnaire").count()) == 1


def test_an_admin_erases_a_client_after_their_visit(app, api, query):
    visit = walk_in(api)
    admin = Staffer(app, "admin")
    client_id = query(lambda s: s.query(Visit).one().client.public_id)
    refused = admin.client.post(f"/admin/clients/{client_id}/erase", data={"csrf_token": admin.csrf})
    assert refused.status_code == 409 and "仍在" in refused.get_data(as_text=True)
    admin.post(f"/admin/visits/{visit['id']}/act", {"action": "left", "expected": "waiting"})
    done = admin.client.post(f"/admin/clients/{client_id}/erase", data={"csrf_token": admin.csrf})
    assert done.status_code == 200
    assert query(lambda s: (s.query(Visit).one().client.name, s.query(Visit).one().client.phone)) == (None, None)
    trail = admin.client.get("/admin/audit?action=erase").get_data(as_text=True)
    assert 'data-action="erase"' in trail and "欧阳娜娜" not in trail and 'data-action="check_in"' not in trail


def test_the_audit_trail_reads_in_words(app, api, query):
    """People and actions in words: "改派 · Amy → Bea · 原因: …", not `reassign` and `to_consultant: 4`."""
    visit = walk_in(api, consultant="amy")
    admin = Staffer(app, "admin")
    admin.post(f"/admin/visits/{visit['id']}/reassign", {"to_consultant": str(ids(query)["bea"]),
                                                         "reason": "客户希望换人", "expected": "waiting"})
    trail = admin.client.get("/admin/audit").get_data(as_text=True)
    row = re.search(r'<tr data-action="reassign">(.*?)</tr>', trail, re.S).group(1)
    text = re.sub(r"<[^>]+>", " ", row)
    assert "改派" in text and "Amy → Bea" in text and "原因: 客户希望换人" in text
    assert "to_consultant" not in text and "reassign" not in text
    checked_in = re.search(r'<tr data-action="check_in">(.*?)</tr>', trail, re.S).group(1)
    assert "签到" in checked_in and "check_in" not in re.sub(r"<[^>]+>", " ", checked_in)


def test_the_desk_calls_next_only_for_someone_who_sees_visitors(app, api, query):
    walk_in(api)
    desk_id = query(lambda s: s.query(Staff).filter_by(username="desk").one().id)
    assert Staffer(app, "desk").post("/admin/call-next", {"consultant": str(desk_id)}).status_code == 400
    assert Staffer(app, "desk").post("/admin/call-next", {"consultant": str(ids(query)["amy"])}).status_code == 200


def test_a_booking_may_name_the_doctor(app, api, query):
    doctor = query(lambda s: s.query(Staff).filter_by(username="dr_sun").one().id)
    response = Staffer(app, "desk").post("/admin/appointments", {
        "name": "王小美", "phone": "13800138000", "date": "2026-03-10", "time": "15:00",
        "service": str(query(lambda s: s.query(Service).filter_by(code="peel").one().id)), "consultant": str(doctor)})
    assert response.status_code == 200
    assert query(lambda s: s.query(Appointment).one().staff.username) == "dr_sun"


def test_last_times_answers_shown_to_fill_in_the_questionnaire_are_audited(app, api, query):
    first = walk_in(api)
    desk = Staffer(app, "desk")
    desk.post(f"/admin/visits/{first['id']}/questionnaire", {"pregnancy": "no", "smoking": "no",
                                                             "consent_privacy": "1", "allergy_detail": "latex"})
    second = walk_in(api)  # the same client, back later
    page = desk.get(f"/admin/visits/{second['id']}/questionnaire").get_data(as_text=True)
    assert 'value="latex"' in page
    opened = query(lambda s: [(e.action, e.detail) for e in s.query(AuditEntry).filter_by(action="view_answers")])
    assert opened == [("view_answers", {"previous": True})]
