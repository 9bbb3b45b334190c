"""The queue API alone: check in, call next, transitions, 409s, reassignment, idempotency."""

import pytest

from lobby.models import AuditEntry, Visit

WALK_IN = {"name": "李雪", "phone": "13900139000", "kind": "walk-in", "service": "peel"}


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    return frozen_clock


def book(api, **change):
    body = {"name": "王小美", "phone": "13800138000", "starts_at": "2026-03-10T10:30:00+08:00",
            "service": "nose", "consultant": "dan", **change}
    response = api.post("/api/v1/appointments", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def check_in(api, body, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return api.post("/api/v1/visits", json=body, headers=headers)


def test_check_in_by_appointment_code(api, client):
    booking = book(api)
    response = check_in(api, {"appointment_code": booking["code"]})
    assert response.status_code == 201
    visit = response.get_json()
    assert set(visit) >= {"id", "ticket", "line", "status", "consultant", "position", "expected_wait_minutes",
                          "ticket_url"}
    assert (visit["ticket"], visit["line"], visit["status"], visit["consultant"]) == ("B001", "surgery", "waiting",
                                                                                       "dan")
    assert (visit["position"], visit["expected_wait_minutes"]) == (1, 0)
    page = client.get(visit["ticket_url"])
    assert page.status_code == 200 and "B001" in page.get_data(as_text=True)
    assert "王小美" not in page.get_data(as_text=True)
    again = check_in(api, {"appointment_code": booking["code"]})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "appointment_already_checked_in"


def test_appointment_check_in_refusals(api, frozen_clock):
    cancelled = book(api, external_id="x-1")
    api.delete(f"/api/v1/appointments/{cancelled['id']}")
    assert check_in(api, {"appointment_code": cancelled["code"]}).get_json()["error"]["code"] == \
        "appointment_cancelled"
    tomorrow = book(api, starts_at="2026-03-11T10:30:00+08:00")
    response = check_in(api, {"appointment_code": tomorrow["code"]})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "appointment_other_day"
    evening = book(api, starts_at="2026-03-10T19:00:00+08:00")
    response = check_in(api, {"appointment_code": evening["code"]})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "appointment_too_early"
    for code, expected in (("000000", 404), ("12ab", 422)):
        assert check_in(api, {"appointment_code": code}).status_code == expected


def test_walk_in_gets_a_ticket_by_rotation(api):
    response = check_in(api, WALK_IN)
    assert response.status_code == 201
    visit = response.get_json()
    assert (visit["ticket"], visit["line"], visit["consultant"]) == ("A001", "skin", "amy")


@pytest.mark.parametrize(
    "change,status,code",
    [
        ({"kind": "sightseeing"}, 422, "kind_invalid"),
        ({"phone": "555"}, 422, "phone_invalid"),
        ({"name": " "}, 422, "name_required"),
        ({"service": "nope"}, 422, "unknown_service"),
        ({"consultant": "ghost"}, 422, "unknown_consultant"),
        # Visitors go to those who see visitors: never to the front desk or an admin account.
        ({"consultant": "desk"}, 422, "unknown_consultant"),
        ({"consultant": "admin"}, 422, "unknown_consultant"),
        ({"consultant": "dr_sun"}, 422, "unknown_consultant"),  # a doctor is not a consultant
    ],
)
def test_bad_check_ins_are_4xx_and_store_nothing(api, query, change, status, code):
    response = check_in(api, {**WALK_IN, **change})
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert query(lambda s: s.query(Visit).count()) == 0


def test_a_repeated_idempotency_key_returns_the_same_ticket(api, query):
    first = check_in(api, WALK_IN, key="kiosk-7:abc").get_json()
    second = check_in(api, WALK_IN, key="kiosk-7:abc")
    assert second.status_code == 201
    assert second.get_json()["id"] == first["id"] and second.get_json()["ticket"] == first["ticket"]
    other = check_in(api, WALK_IN, key="kiosk-7:def").get_json()
    assert other["ticket"] == "A002"
    assert query(lambda s: s.query(Visit).count()) == 2


def test_a_check_in_without_an_idempotency_key_is_taken_with_a_warning(api):
    """A caller without a key is not refused (integrations written before keys keep working), but
    told, in the answer and in a Warning header, that its retries would check the visitor in twice."""
    unkeyed = check_in(api, WALK_IN)
    assert unkeyed.status_code == 201
    assert [w["code"] for w in unkeyed.get_json()["warnings"]] == ["idempotency_key_missing"]
    assert "Idempotency-Key" in unkeyed.headers["Warning"]
    keyed = check_in(api, {**WALK_IN, "phone": "13900139001"}, key="desk-2:1")
    assert keyed.status_code == 201
    assert "warnings" not in keyed.get_json() and "Warning" not in keyed.headers


def test_a_write_past_the_servers_time_limit_saves_nothing_and_its_retry_does(app, api, query):
    """Under overload a request may reach its save after its caller gave up: it is dropped (503, a
    Retry-After), nothing is kept — no visit, no ticket number, no version — and the caller's retry
    with the same key gets the ticket the request would have given."""
    from lobby import queue_state

    limit = app.config["REQUEST_TIME_LIMIT_MS"]
    assert limit > 0  # on by default
    version = query(queue_state.read_version)
    app.config["REQUEST_TIME_LIMIT_MS"] = 1e-6  # every request is already past it when it saves
    try:
        late = check_in(api, WALK_IN, key="kiosk-7:late")
        assert late.status_code == 503 and late.headers["Retry-After"] == "1"
        assert late.get_json()["error"]["code"] == "request_expired"
        assert api.post("/api/v1/consultants/amy/call-next").status_code in (409, 503)
        assert query(lambda s: s.query(Visit).count()) == 0 and query(queue_state.read_version) == version
    finally:
        app.config["REQUEST_TIME_LIMIT_MS"] = limit
    retry = check_in(api, WALK_IN, key="kiosk-7:late")
    assert retry.status_code == 201 and retry.get_json()["ticket"] == "A001"
    assert check_in(api, WALK_IN, key="kiosk-7:late").get_json()["id"] == retry.get_json()["id"]
    assert query(lambda s: s.query(Visit).count()) == 1


def test_the_kiosk_says_so_in_the_visitors_language_when_the_server_was_too_slow(app, api, query):
    from .test_kiosk import QUESTIONNAIRE, Kiosk, hidden, walk_in_details

    kiosk = Kiosk(app)
    carry = hidden(kiosk.get("/kiosk/step/walk-in").get_data(as_text=True))
    details = kiosk.post("/kiosk/details", {**carry, **walk_in_details(app)})
    limit, app.config["REQUEST_TIME_LIMIT_MS"] = app.config["REQUEST_TIME_LIMIT_MS"], 1e-6
    try:
        refused = kiosk.post("/kiosk/finish", {**hidden(details.get_data(as_text=True)), **QUESTIONNAIRE})
    finally:
        app.config["REQUEST_TIME_LIMIT_MS"] = limit
    assert refused.status_code == 503 and "请重试" in refused.get_data(as_text=True)
    assert query(lambda s: s.query(Visit).count()) == 0


def test_call_next_then_every_legal_transition(api, query):
    visit = check_in(api, {**WALK_IN, "consultant": "bea"}).get_json()
    called = api.post("/api/v1/consultants/bea/call-next")
    assert called.status_code == 200
    assert called.get_json() == {"id": visit["id"], "ticket": "A001", "room": "2"}
    path = f"/api/v1/visits/{visit['id']}/transition"
    for target, status in [("recalled", "called"), ("with_consultant", "with_consultant"),
                           ("with_doctor", "with_doctor"), ("with_consultant", "with_consultant"),
                           ("with_doctor", "with_doctor"), ("done", "done")]:
        response = api.post(path, json={"to": target, **({"doctor": "dr_sun"} if target == "with_doctor" else {})})
        assert response.status_code == 200, (target, response.get_json())
        assert response.get_json()["status"] == status
    illegal = api.post(path, json={"to": "called"})
    assert illegal.status_code == 409
    error = illegal.get_json()["error"]
    assert error["code"] == "illegal_transition" and error["message"]
    actions = query(lambda s: [e.action for e in s.query(AuditEntry).order_by(AuditEntry.id)])
    # The first consultation done, Bea becomes the client's own consultant (客户归属), audited.
    assert actions == ["check_in", "called", "recall", "with_consultant", "with_doctor", "with_consultant",
                       "with_doctor", "done", "client_care"]


@pytest.mark.parametrize("path_to,target", [
    ([], "recalled"), ([], "with_consultant"), ([], "done"), ([], "no_show"), (["called"], "called"),
    (["called", "no_show"], "with_consultant"), (["left"], "waiting"),
])
def test_illegal_transitions_are_409(api, path_to, target):
    visit = check_in(api, WALK_IN).get_json()
    path = f"/api/v1/visits/{visit['id']}/transition"
    for step in path_to:
        assert api.post(path, json={"to": step}).status_code == 200
    response = api.post(path, json={"to": target})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "illegal_transition"


def test_skip_then_requeue_then_leave(api):
    visit = check_in(api, WALK_IN).get_json()
    path = f"/api/v1/visits/{visit['id']}/transition"
    for target in ("called", "no_show", "waiting", "left"):
        assert api.post(path, json={"to": target}).get_json()["status"] == target


def test_transition_input_errors(api):
    visit = check_in(api, WALK_IN).get_json()
    assert api.post(f"/api/v1/visits/{visit['id']}/transition", json={"to": "flying"}).status_code == 422
    assert api.post(f"/api/v1/visits/{visit['id']}/transition", data="x").status_code == 422
    assert api.post("/api/v1/visits/unknown/transition", json={"to": "called"}).status_code == 404


def test_call_next_with_nobody_waiting_is_409_and_unknown_consultant_404(api):
    assert api.post("/api/v1/consultants/amy/call-next").status_code == 409
    assert api.post("/api/v1/consultants/ghost/call-next").status_code == 404


def test_reassign_consultant_and_line(api):
    visit = check_in(api, WALK_IN).get_json()
    path = f"/api/v1/visits/{visit['id']}/reassign"
    moved = api.post(path, json={"consultant": "bea", "reason": "换人咨询"})
    assert moved.status_code == 200 and moved.get_json()["consultant"] == "bea"
    to_line = api.post(path, json={"line": "surgery", "reason": "wants surgery"})
    assert to_line.get_json()["ticket"] == "B001" and to_line.get_json()["line"] == "surgery"
    assert api.post(path, json={"consultant": "bea"}).status_code == 422  # no reason
    assert api.post(path, json={"consultant": "ghost", "reason": "x"}).status_code == 422
    assert api.post(path, json={"consultant": "desk", "reason": "x"}).status_code == 422
    assert api.post("/api/v1/consultants/desk/call-next").status_code == 404
    assert api.post(path, json={"line": "nowhere", "reason": "x"}).status_code == 422


def test_queue_lists_waiting_and_called_as_staff_see_them(api):
    first = check_in(api, WALK_IN).get_json()
    check_in(api, {**WALK_IN, "phone": "13900139001", "service": "nose"})
    api.post(f"/api/v1/visits/{first['id']}/transition", json={"to": "called"})
    queue = api.get("/api/v1/queue").get_json()
    assert [(v["ticket"], v["status"], v["name"]) for v in queue["visits"]] == [
        ("A001", "called", "李雪"), ("B001", "waiting", "李雪")]
    assert {line["line"]: line["waiting"] for line in queue["lines"]} == {"skin": 0, "surgery": 1, "post-op": 0}


def test_visits_are_addressed_by_opaque_ids(api):
    visit = check_in(api, WALK_IN).get_json()
    assert not visit["id"].isdigit() and len(visit["id"]) >= 16
    assert api.post("/api/v1/visits/1/transition", json={"to": "called"}).status_code == 404


@pytest.mark.parametrize("body", [
    {"name": "x", "phone": "13900139000", "kind": ["walk-in"]},
    {"name": "x", "phone": "13900139000", "kind": None},
    {"name": ["x"], "phone": "13900139000"},
    {"name": "x", "phone": 13900139000},
    {"appointment_code": 123456},
    {"name": "x", "phone": "13900139000", "service": {"code": "peel"}},
])
def test_wrongly_typed_fields_are_4xx_never_500(api, body):
    response = check_in(api, body)
    assert 400 <= response.status_code < 500
    assert response.get_json()["error"]["code"]


def test_unknown_api_paths_and_methods_answer_json(api):
    missing = api.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    wrong_method = api.delete("/api/v1/queue")
    assert wrong_method.status_code == 405 and wrong_method.get_json()["error"]["code"] == "method_not_allowed"


API_PATH_TO = {"waiting": [], "called": ["called"], "with_consultant": ["called", "with_consultant"],
               "with_doctor": ["called", "with_consultant", "with_doctor"], "no_show": ["called", "no_show"]}
API_LEGAL = [(start, target) for start, targets in {
    "waiting": ["called", "left"],
    "called": ["recalled", "with_consultant", "no_show", "left"],
    "with_consultant": ["with_doctor", "done", "left"],
    "with_doctor": ["with_consultant", "done", "left"],
    "no_show": ["waiting", "left"],
}.items() for target in targets]


@pytest.mark.parametrize("start,target", API_LEGAL)
def test_every_legal_transition_through_the_api(api, start, target):
    visit = check_in(api, WALK_IN).get_json()
    path = f"/api/v1/visits/{visit['id']}/transition"
    def named(step):  # a hand-off to the doctor names him
        return {"to": step, **({"doctor": "dr_sun"} if step == "with_doctor" else {})}

    for step in API_PATH_TO[start]:
        assert api.post(path, json=named(step)).status_code == 200
    response = api.post(path, json=named(target))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == ("called" if target == "recalled" else target)


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer lby_wrong", "Basic dXNlcjpwYXNz", "bearer  "])
def test_every_call_needs_a_valid_key(client, api, header):
    headers = {"Authorization": header} if header else {}
    for method, path in (("GET", "/api/v1/queue"), ("POST", "/api/v1/visits"), ("DELETE", "/api/v1/appointments/x")):
        response = client.open(path, method=method, headers=headers, json={})
        assert response.status_code == 401, (method, path)
        assert response.get_json()["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
