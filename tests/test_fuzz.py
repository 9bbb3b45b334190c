"""Odd input never makes a 500: every route that takes an id, a token, a number or a date, with
values a person or a script might send (huge numbers, superscript digits, other scripts' digits,
control characters, far-away dates). Each answer is a clear 4xx or a normal page."""

import re

import pytest

from .test_admin import Staffer
from .test_kiosk import Kiosk

HOSTILE = ["0", "-1", "9" * 30, "2147483648", "²", "١٢", "1e9", "abc", "%00", "\x00", "\u202e12", " 7 ",
           "a" * 300, "../../etc/passwd", "null", "[]"]
HOSTILE_DATES = ["0001-01-01", "9999-12-31", "2026-02-30", "2026-13-01", "20260310", "²⁰²⁶-03-10"]

# Form fields and query arguments that carry ids, numbers or dates, by route.
FIELDS = [
    ("kiosk", "POST", "/kiosk/details", ("consultant", "partner", "service", "birth_year"),
     {"flow": "walk-in", "name": "王小美", "phone": "13800138000", "gender": "female", "birth_year": "1990"}),
    ("kiosk", "POST", "/kiosk/finish", ("service", "consultant", "partner", "birth_year"),
     {"flow": "walk-in", "key": "fuzz", "name": "王小美", "phone": "13800138000", "gender": "female",
      "birth_year": "1990", "pregnancy": "no", "smoking": "no", "consent_privacy": "1"}),
    ("kiosk", "POST", "/kiosk/find", ("birth_year", "phone"), {"flow": "returning", "name": "张三华",
                                                               "phone": "13700137000", "birth_year": "1990"}),
    ("kiosk", "POST", "/kiosk/appointment", ("code", "phone"), {"phone": "13800138000", "code": "123456"}),
    ("kiosk", "POST", "/kiosk/companion", ("ticket",), {}),
    ("kiosk", "POST", "/kiosk/reason", ("service", "who"), {"flow": "returning"}),
    ("admin", "GET", "/admin/", ("consultant", "line", "sort"), {}),
    ("admin", "POST", "/admin/call-next", ("consultant",), {}),
    ("admin", "POST", "/admin/visits/{visit}/reassign", ("to_consultant", "to_line", "expected_consultant"),
     {"reason": "x"}),
    ("admin", "POST", "/admin/visits/{visit}/act", ("action", "expected"), {}),
    ("admin", "POST", "/admin/visits/{visit}/client", ("partner", "birth_year", "gender", "channel"),
     {"name": "欧阳娜娜", "phone": "13912345678"}),
    ("admin", "POST", "/admin/visits/{visit}/identity", ("decision",), {}),
    ("admin", "POST", "/admin/rotation/{amy}/duty", ("status",), {}),
    ("admin", "POST", "/admin/appointments", ("service", "consultant", "id", "date", "time"),
     {"name": "王小美", "phone": "13800138000", "date": "2026-03-10", "time": "15:00"}),
    ("admin", "GET", "/admin/appointments", ("date", "edit"), {}),
    ("admin", "GET", "/admin/audit", ("actor", "date", "action"), {}),
    ("admin", "GET", "/admin/reports", ("start", "end"), {}),
    ("admin", "GET", "/admin/reports/export", ("start", "end", "table", "format"), {"table": "by_kind"}),
    ("admin", "GET", "/admin/reports/trends", ("start", "end", "by"), {}),
    ("admin", "GET", "/admin/reports/export", ("start", "end", "by"), {"table": "trend"}),
    ("admin", "GET", "/admin/settings", ("edit", "section"), {"section": "staff"}),
    ("admin", "POST", "/admin/settings/services", ("id", "line", "typical_minutes"),
     {"code": "x", "name_zh": "x", "name_en": "x", "typical_minutes": "10"}),
    ("admin", "POST", "/admin/settings/partners", ("id", "consultant"), {"name": "x"}),
    ("admin", "POST", "/admin/settings/clinic", ("long_wait_minutes", "opens_at", "retention_days"), {}),
    ("admin", "POST", "/admin/register", ("service", "consultant", "partner", "birth_year", "kind", "surgeon",
                                          "surgery_date"), {"name": "王小美", "phone": "13800138000"}),
    ("admin", "POST", "/admin/register", ("complaint_line", "about_staff", "what_happened"),
     {"name": "王小美", "phone": "13800138000", "kind": "complaint", "what_happened": "x"}),
    ("admin", "GET", "/admin/complaints", ("start", "end"), {}),
    ("admin", "POST", "/admin/complaints", ("complaint_line", "about_staff", "phone", "visit", "what_happened"),
     {"what_happened": "x", "name": "王小美", "phone": "13800138000"}),
    ("admin", "POST", "/admin/complaints/routing", ("head-1", "head-2", "customer_service"), {"head-1": ""}),
    ("admin", "GET", "/admin/roster", ("date",), {}),
    ("admin", "POST", "/admin/roster", ("date", "start-1", "end-1", "breaks-1"),
     {"start-1": "09:00", "end-1": "18:00"}),
    ("admin", "POST", "/admin/roster/copy", ("date",), {}),
    ("admin", "POST", "/admin/visits/{visit}/care", ("consultant", "surgeon", "surgery_date", "partner"),
     {"reason": "x"}),
    ("admin", "POST", "/admin/visits/{visit}/walk-in", ("service",), {}),
    ("admin", "POST", "/admin/settings/webhooks/endpoints", ("url", "events", "personal_data"), {}),
    ("api", "GET", "/api/v1/clients", ("phone",), {}),
    ("api", "POST", "/api/v1/visits", ("surgeon", "surgery_date", "kind", "consultant"),
     {"name": "王小美", "phone": "13800138000", "kind": "post-op"}),
    ("api", "POST", "/api/v1/appointments", ("surgeon", "surgery_date", "partner", "doctor", "consultant"),
     {"name": "王小美", "phone": "13800138000", "service": "peel", "starts_at": "2026-03-10T15:00:00+08:00"}),
    ("api", "POST", "/api/v1/staff/amy/duty", ("status", "until"), {"status": "away"}),
    ("api", "PUT", "/api/v1/roster/2026-03-10", ("username", "start", "end", "breaks"), {}),
    ("api", "PATCH", "/api/v1/clients/none", ("consultant", "surgeon", "surgery_date", "partner"),
     {"reason": "x"}),
    ("public", "GET", "/display/", ("line", "lang"), {}),
    ("api", "GET", "/api/v1/appointments", ("date",), {}),
]


def path_rules(app):
    """Every route with a part of its path that names something."""
    return sorted({(rule.rule, method) for rule in app.url_map.iter_rules() if rule.arguments
                   and rule.endpoint != "static" for method in rule.methods - {"HEAD", "OPTIONS"}})


@pytest.fixture
def callers(app, api, frozen_clock):
    visit = api.post("/api/v1/visits", json={"name": "欧阳娜娜", "phone": "13912345678", "kind": "walk-in"}).get_json()
    admin, kiosk = Staffer(app, "admin"), Kiosk(app)
    anonymous = app.test_client()

    def call(who, method, path, data):
        path = path.format(visit=visit["id"], amy="1")
        if who == "api":
            if method == "GET":
                return api.get(path, query_string=data)
            return getattr(api, method.lower())(path, json=data)
        if who == "admin":
            if method == "GET":
                return admin.client.get(path, query_string=data)
            return admin.post(path, data)
        if who == "kiosk":
            return kiosk.post(path, data) if method == "POST" else kiosk.get(path)
        return anonymous.get(path, query_string=data)

    return call


def test_every_route_with_a_path_argument_is_listed(app):
    # A new route with an id in its path must be fuzzed below: this list is the whole of them.
    assert {rule for rule, _ in path_rules(app)} == {
        "/t/<token>", "/t/<token>/state.json", "/kiosk/step/<flow>", "/kiosk/a/<token>", "/kiosk/a/<token>/qr.png",
        "/kiosk/ticket-qr/<token>.png", "/admin/appointments/<public_id>/cancel", "/admin/appointments/<public_id>",
        "/admin/appointments/<public_id>/check-in",
        "/admin/visits/<public_id>/act", "/admin/visits/<public_id>/reassign", "/admin/visits/<public_id>/told", "/admin/visits/<public_id>/note",
        "/admin/rotation/<staff_id>/duty", "/admin/rotation/<staff_id>/move", "/admin/visits/<public_id>",
        "/admin/visits/<public_id>/answers", "/admin/visits/<public_id>/questionnaire",
        "/admin/clients/<public_id>/erase", "/admin/visits/<public_id>/identity", "/admin/visits/<public_id>/client",
        "/admin/settings/<section>", "/api/v1/appointments/<public_id>", "/api/v1/visits/<public_id>",
        "/api/v1/consultants/<username>/call-next", "/api/v1/visits/<public_id>/transition",
        "/api/v1/visits/<public_id>/reassign", "/lang/<code>", "/admin/visits/<public_id>/care",
        "/admin/visits/<public_id>/walk-in", "/api/v1/clients/<public_id>", "/api/v1/staff/<username>/duty",
        "/api/v1/roster/<day>",
        "/admin/settings/webhooks/<endpoint_id>/active", "/admin/settings/webhooks/<endpoint_id>/delete",
        "/admin/settings/webhooks/<endpoint_id>/test", "/admin/settings/webhooks/deliveries/<delivery_id>/retry",
        "/admin/follow-ups/<purpose>/<key>/contacted", "/admin/visits/<public_id>/outcome",
        "/admin/complaints/<public_id>", "/admin/complaints/<public_id>/calm",
        "/admin/complaints/<public_id>/escalate", "/admin/complaints/<public_id>/close",
        "/admin/complaints/visit/<public_id>",
        "/admin/visits/<public_id>/verify-partner"}


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_path_arguments_are_4xx_never_500(app, callers, value):
    from urllib.parse import quote

    failures = []
    for rule, method in path_rules(app):
        path = re.sub(r"<[^>]+>", quote(value, safe=""), rule)
        who = "api" if rule.startswith("/api/") else "admin" if rule.startswith("/admin/") else \
            "kiosk" if rule.startswith("/kiosk/") and method == "POST" else "public"
        if method == "DELETE":
            response = app.test_client().delete(path)
        else:
            response = callers(who, method, path, {"to": "called", "reason": "x", "action": "call"}
                               if method == "POST" else {})
        if response.status_code >= 500:
            failures.append((method, path, response.status_code))
    assert failures == []


@pytest.mark.parametrize("value", HOSTILE + HOSTILE_DATES)
def test_hostile_ids_numbers_and_dates_in_forms_are_4xx_never_500(callers, value):
    failures = []
    for who, method, path, fields, base in FIELDS:
        for field in fields:
            response = callers(who, method, path, {**base, field: value})
            if response.status_code >= 500:
                failures.append((method, path, field, response.status_code))
    assert failures == []


def test_nul_characters_are_refused_before_any_query(app, api, callers):
    # PostgreSQL cannot compare text holding NUL: without the check these are 500s there.
    assert api.post("/api/v1/visits", json={"name": "王小美", "phone": "13800138000", "service": "peel\x00"}
                    ).status_code == 400
    web = app.test_client()
    assert web.post("/admin/login", data={"username": "desk\x00", "password": "x"}).status_code == 400
    kiosk_page = callers("kiosk", "POST", "/kiosk/companion", {"ticket": "A\x001"})
    assert kiosk_page.status_code == 400 and "重新开始" in kiosk_page.get_data(as_text=True)


def test_a_csv_with_nul_characters_imports_what_it_can(app, api, frozen_clock):
    import io

    admin = Staffer(app, "admin")
    csv_text = "name,phone,starts_at,service\n王\x00小美,13800138000,2026-03-10T15:00,pe\x00el\n"
    response = admin.client.post("/admin/appointments/import", data={
        "file": (io.BytesIO(csv_text.encode()), "day.csv")}, headers={"X-CSRFToken": admin.csrf})
    assert response.status_code == 200 and "王小美" in admin.client.get("/admin/appointments").get_data(as_text=True)


def test_page_forms_never_read_a_json_body(app, api, frozen_clock):
    """The kiosk's forms post form fields; a JSON body (numbers where text is expected) is not read."""
    kiosk = Kiosk(app)
    for path in ("/kiosk/find", "/kiosk/appointment", "/kiosk/details"):
        response = kiosk.client.post(path, json={"phone": 13800138000, "name": 7, "birth_year": 1990, "code": 1},
                                     headers={"HX-Request": "true", "X-CSRFToken": kiosk.csrf})
        assert response.status_code == 422 and "请输入手机号码" in response.get_data(as_text=True), path
    web = app.test_client()
    page = web.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert web.post("/admin/login", json={"username": 1, "password": 2},
                    headers={"X-CSRFToken": token}).status_code == 401


def test_nul_in_a_multipart_form_is_refused_too(app, api):
    body = (b'--B\r\nContent-Disposition: form-data; name="username"\r\n\r\ndesk\x00\r\n'
            b'--B\r\nContent-Disposition: form-data; name="password"\r\n\r\nx\r\n--B--\r\n')
    response = app.test_client().post("/admin/login", data=body, content_type="multipart/form-data; boundary=B")
    assert response.status_code == 400
