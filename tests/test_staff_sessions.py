"""Staff sessions end on the server: a cookie copied before logout opens nothing afterwards (HTTP or
Socket.IO), and disabling an account or changing its password ends its sessions at once."""

import logging
import re

import pytest

from lobby.extensions import db, socketio
from lobby.models import Staff, StaffSession

from .factories import PASSWORD
from .test_admin import Staffer


@pytest.fixture(autouse=True)
def _clinic(api, frozen_clock):
    return api


def cookie_of(staffer: Staffer) -> str:
    return staffer.client.get_cookie("session").value


def with_cookie(app, value: str):
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def admin_socket(app, web):
    return socketio.test_client(app, namespace="/admin", flask_test_client=web)


def test_a_cookie_kept_from_before_logout_is_refused_by_pages_and_sockets(app):
    desk = Staffer(app, "desk")
    saved = cookie_of(desk)
    assert with_cookie(app, saved).get("/admin/").status_code == 200  # the copy works while logged in
    assert desk.post("/admin/logout").status_code == 302

    replay = with_cookie(app, saved)
    page = replay.get("/admin/")
    assert page.status_code == 302 and "/admin/login" in page.headers["Location"]
    assert replay.get("/admin/", headers={"HX-Request": "true"}).status_code == 401
    assert not admin_socket(app, with_cookie(app, saved)).is_connected("/admin")


def test_logging_out_on_one_laptop_leaves_the_others_logged_in(app):
    first, second = Staffer(app, "desk"), Staffer(app, "desk")
    panel = admin_socket(app, second.client)
    assert panel.is_connected("/admin")
    first.post("/admin/logout")
    assert second.get("/admin/").status_code == 200 and panel.is_connected("/admin")


@pytest.mark.parametrize("change", [{"disabled": "1"}, {"password": "a brand new secret"}])
def test_disabling_an_account_or_a_new_password_ends_its_sessions_at_once(app, query, change):
    bea = Staffer(app, "bea")
    panel = admin_socket(app, bea.client)
    assert panel.is_connected("/admin")
    admin = Staffer(app, "admin")
    bea_id = query(lambda s: s.query(Staff).filter_by(username="bea").one().id)
    response = admin.post("/admin/settings/staff", {"id": str(bea_id), "display_name": "Bea", "role": "consultant",
                                                    "specialties": "skin", **change})
    assert response.status_code == 200
    assert bea.get("/admin/").status_code == 401
    assert not panel.is_connected("/admin")
    reasons = query(lambda s: [r.ended_reason for r in s.query(StaffSession).filter_by(staff_id=bea_id)])
    assert reasons == ["disabled" if "disabled" in change else "password"]
    # The admin who made the change is still logged in.
    assert admin.get("/admin/").status_code == 200


def test_a_password_reset_from_the_command_line_ends_sessions(app, runner=None):
    bea = Staffer(app, "bea")
    result = app.test_cli_runner().invoke(args=["create-staff", "--username", "bea", "--password", "another one",
                                                "--role", "consultant"])
    assert result.exit_code == 0, result.output
    assert bea.get("/admin/").status_code == 401


def test_an_idle_session_cannot_open_a_socket(app, monkeypatch):
    desk = Staffer(app, "desk")
    with desk.client.session_transaction() as cookie_session:
        cookie_session["seen_at"] -= 31 * 60
    assert not admin_socket(app, desk.client).is_connected("/admin")
    assert desk.get("/admin/").status_code == 401
    with app.app_context():
        assert db.session.query(StaffSession).one().ended_reason == "idle"


def test_failed_logins_are_logged_without_the_password(app, caplog):
    caplog.set_level(logging.WARNING, logger="lobby.security")
    web = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/admin/login").get_data(as_text=True)).group(1)
    web.post("/admin/login", data={"username": "desk", "password": "hunter2-wrong", "csrf_token": token})
    web.post("/admin/login", data={"username": "nobody", "password": PASSWORD, "csrf_token": token})
    assert "failed staff login: known_account=yes" in caplog.text
    assert "failed staff login: known_account=no" in caplog.text
    assert "hunter2" not in caplog.text and PASSWORD not in caplog.text
