"""Each setting changes behaviour where it should; bad values are refused and change nothing."""

import re

from lobby.models import AuditEntry, ClinicSettings, Line, Staff

from .factories import PASSWORD
from .test_admin import Staffer, walk_in


def admin(app):
    return Staffer(app, "admin")


def post(staff, section, data):
    return staff.client.post(f"/admin/settings/{section}", data={"csrf_token": staff.csrf, **data})


def clinic_form(**change):
    data = {"name": "Test Clinic", "timezone": "Asia/Shanghai", "opens_at": "09:00", "closes_at": "21:00",
            "long_wait_minutes": "20", "kiosk_idle_seconds": "90", "staff_idle_minutes": "30",
            "early_arrival_minutes": "120", "late_arrival_minutes": "30", "retention_days": "365",
            "retell_threshold_minutes": "10",
            "speech_language": "zh_CN", "speech_enabled": "1", "mask_names_on_board": "1", "ownership_rule": "first"}
    data.update(change)
    return {k: v for k, v in data.items() if v is not None}


def test_a_new_line_gets_its_own_prefix_and_appears_on_the_board(app, api, client, query):
    staff = admin(app)
    saved = post(staff, "lines", {"code": "laser", "prefix": "d", "name_zh": "激光中心", "name_en": "Laser centre",
                                  "colour": "#aa7755"})
    assert saved.status_code == 200
    line_id = query(lambda s: s.query(Line).filter_by(code="laser").one().id)
    assert post(staff, "services", {"code": "pico", "name_zh": "皮秒", "name_en": "Picosecond laser",
                                    "line": str(line_id), "specialty": "skin", "typical_minutes": "30"}).status_code == 200
    visit = walk_in(api, service="pico")
    assert visit["ticket"] == "D001" and visit["line"] == "laser"
    board = client.get("/display/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "激光中心" in board and "D001" in board


def test_a_new_threshold_changes_the_long_wait_alert(app, api, frozen_clock):
    walk_in(api)
    frozen_clock.advance(minutes=6)
    staff = admin(app)
    assert "long-wait" not in staff.get("/admin/").get_data(as_text=True)
    assert post(staff, "clinic", clinic_form(long_wait_minutes="5")).status_code == 200
    assert 'class="row-waiting long-wait"' in staff.get("/admin/").get_data(as_text=True)


def test_a_disabled_staff_account_cannot_log_in(app, api, query):
    desk_id = query(lambda s: s.query(Staff).filter_by(username="desk").one().id)
    assert post(admin(app), "staff", {"id": str(desk_id), "display_name": "Desk", "role": "frontdesk",
                                      "disabled": "1"}).status_code == 200
    client = app.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/admin/login", data={"username": "desk", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 401


def test_a_new_account_logs_in_with_its_password(app, api):
    staff = admin(app)
    assert post(staff, "staff", {"username": "mei", "display_name": "美美", "role": "consultant",
                                 "password": "a-long-password", "specialties": "skin", "room": "7"}).status_code == 200
    client = app.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/admin/login", data={"username": "mei", "password": "a-long-password",
                                             "csrf_token": token}).status_code == 302


def test_bad_values_are_refused_and_change_nothing(app, api, query):
    staff = admin(app)
    response = post(staff, "clinic", clinic_form(name="", timezone="Mars/Olympus", long_wait_minutes="0",
                                                 opens_at="nine"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for field in ("name", "timezone", "long_wait_minutes", "opens_at"):
        assert f'id="{field}-error"' in html
    assert query(lambda s: (s.query(ClinicSettings).one().name, s.query(ClinicSettings).one().long_wait_minutes)) \
        == ("Test Clinic", 20)
    clash = post(staff, "lines", {"code": "skin", "prefix": "B", "name_zh": "x", "name_en": "x"})
    assert clash.status_code == 422 and 'id="prefix-error"' in clash.get_data(as_text=True)
    short = post(staff, "staff", {"username": "x", "display_name": "X", "role": "frontdesk", "password": "short"})
    assert short.status_code == 422 and 'id="password-error"' in short.get_data(as_text=True)


def test_every_settings_change_is_audited_without_secrets(app, api, query):
    staff = admin(app)
    post(staff, "clinic", clinic_form(speech_enabled=None))
    post(staff, "staff", {"username": "mei", "display_name": "美美", "role": "frontdesk", "password": "a-long-password"})
    entries = query(lambda s: [(e.action, e.detail) for e in s.query(AuditEntry).filter_by(action="settings")])
    assert [d["section"] for _, d in entries] == ["clinic", "staff"]
    assert "a-long-password" not in repr(entries)
    assert query(lambda s: s.query(ClinicSettings).one().speech_enabled) is False
