"""Appointments API: round trip, idempotent external_id, and 4xx JSON for every bad input."""

import pytest

from lobby.models import Appointment

from .factories import MORNING

GOOD = {
    "name": "王小美",
    "phone": "138 0013 8000",
    "starts_at": "2026-03-10T14:30:00+08:00",
    "service": "peel",
    "consultant": "amy",
    "external_id": "crm-1001",
}


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    return frozen_clock


def test_create_then_list_round_trips(api):
    created = api.post("/api/v1/appointments", json=GOOD)
    assert created.status_code == 201
    body = created.get_json()
    assert set(body) >= {"id", "code", "checkin_url", "qr_png_url"}
    assert len(body["code"]) == 6 and body["code"].isdigit()
    assert body["id"] and not body["id"].isdigit()  # opaque, not a sequence
    listed = api.get("/api/v1/appointments?date=2026-03-10").get_json()["appointments"]
    assert [a["id"] for a in listed] == [body["id"]]
    assert listed[0]["phone"] == "+8613800138000"
    assert listed[0]["starts_at"] == "2026-03-10T06:30:00+00:00"
    assert listed[0]["consultant"] == "amy"
    assert api.get("/api/v1/appointments?date=2026-03-11").get_json()["appointments"] == []


def test_the_qr_png_and_checkin_url_work(api, client):
    body = api.post("/api/v1/appointments", json={**GOOD, "starts_at": "2026-03-10T10:30:00+08:00"}).get_json()
    png = client.get(body["qr_png_url"])
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data[:4] == b"\x89PNG"
    page = client.get(body["checkin_url"])
    assert page.status_code == 200
    assert "王*美" in page.get_data(as_text=True)
    assert "王小美" not in page.get_data(as_text=True)


def count_appointments(session):
    return session.query(Appointment).count()


def test_a_repeated_external_id_updates_instead_of_duplicating(api, query):
    first = api.post("/api/v1/appointments", json=GOOD).get_json()
    again = api.post("/api/v1/appointments", json={**GOOD, "starts_at": "2026-03-10T16:00:00+08:00"})
    assert again.status_code == 200
    assert again.get_json()["id"] == first["id"]
    assert again.get_json()["code"] == first["code"]
    assert query(count_appointments) == 1
    assert again.get_json()["starts_at"] == "2026-03-10T08:00:00+00:00"


def test_cancel(api):
    body = api.post("/api/v1/appointments", json=GOOD).get_json()
    cancelled = api.delete(f"/api/v1/appointments/{body['id']}")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert api.delete("/api/v1/appointments/nope").status_code == 404


@pytest.mark.parametrize(
    "change,status,code",
    [
        ({"service": "no-such-thing"}, 422, "unknown_service"),
        ({"consultant": "nobody"}, 422, "unknown_consultant"),
        ({"consultant": "desk"}, 422, "unknown_consultant"),
        ({"phone": "12345"}, 422, "phone_invalid"),
        ({"phone": "not a phone"}, 422, "phone_invalid"),
        ({"phone": ""}, 422, "phone_required"),
        ({"name": ""}, 422, "name_required"),
        ({"name": 42}, 422, "field_type"),
        ({"starts_at": "2026-03-09T14:30:00+08:00"}, 422, "starts_at_past"),
        ({"starts_at": "yesterday at noon"}, 422, "starts_at_invalid"),
        ({"starts_at": None}, 422, "starts_at_invalid"),
        ({"external_id": ["a"]}, 422, "field_type"),
    ],
)
def test_bad_input_gets_a_json_4xx_and_stores_nothing(api, query, change, status, code):
    response = api.post("/api/v1/appointments", json={**GOOD, **change})
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]
    assert query(count_appointments) == 0


@pytest.mark.parametrize("data,content_type", [("{not json", "application/json"), ("[1, 2]", "application/json"),
                                               ("name=x", "application/x-www-form-urlencoded")])
def test_bad_json_is_a_4xx(api, data, content_type):
    response = api.post("/api/v1/appointments", data=data, content_type=content_type)
    assert 400 <= response.status_code < 500
    assert response.get_json()["error"]["code"] == "bad_json"


def test_bad_date_filter(api):
    response = api.get("/api/v1/appointments?date=10/03/2026")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "date_invalid"


def test_requests_without_a_valid_key_are_refused(client, api):
    for headers in ({}, {"Authorization": "Bearer lby_wrong"}, {"Authorization": f"Basic {api.key}"}):
        response = client.post("/api/v1/appointments", json=GOOD, headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_error_messages_follow_the_requested_language(api):
    zh = api.post("/api/v1/appointments", json={**GOOD, "phone": "1"}, headers={"Accept-Language": "zh-CN"})
    en = api.post("/api/v1/appointments", json={**GOOD, "phone": "1"}, headers={"Accept-Language": "en"})
    assert "手机号码无效" in zh.get_json()["error"]["message"]
    assert "not a valid mobile number" in en.get_json()["error"]["message"]


def test_update_after_check_in_is_refused(api):
    body = api.post("/api/v1/appointments", json={**GOOD, "starts_at": "2026-03-10T10:30:00+08:00"}).get_json()
    assert api.post("/api/v1/visits", json={"appointment_code": body["code"]}).status_code == 201
    again = api.post("/api/v1/appointments", json=GOOD)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "appointment_not_editable"


def test_morning_is_what_the_tests_assume():
    assert MORNING.isoformat() == "2026-03-10T02:00:00+00:00"
