"""Behind a reverse proxy the links Lobby hands out — a ticket's page (and so its QR code), an
appointment's check-in — carry the address the visitor reached, not the server's loopback port;
a deployment may name its public address outright (LOBBY_PUBLIC_URL)."""

import pytest

from lobby import create_app
from lobby.config import ConfigError

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "lobby.clinic.example",
             "X-Forwarded-For": "203.0.113.7"}


@pytest.fixture
def behind_one_proxy(monkeypatch):
    monkeypatch.setenv("LOBBY_PROXY_HOPS", "1")


@pytest.fixture
def public_url(monkeypatch):
    monkeypatch.setenv("LOBBY_PUBLIC_URL", "https://queue.clinic.example/lobby/")


def check_in(api, **headers):
    response = api.post("/api/v1/visits", headers=headers, json={
        "name": "张三华", "phone": "13800138001", "kind": "walk-in", "service": "peel"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_ticket_link_takes_the_proxys_address_when_told_to_trust_it(behind_one_proxy, app, api):
    assert check_in(api, **FORWARDED)["ticket_url"].startswith("https://lobby.clinic.example/t/")


def test_forwarded_headers_are_ignored_by_default(app, api):
    # A client may send any header: without a proxy to vouch for it, it changes nothing.
    assert check_in(api, **FORWARDED)["ticket_url"].startswith("http://localhost/t/")


def test_a_named_public_address_wins(public_url, app, api):
    ticket = check_in(api)
    assert ticket["ticket_url"].startswith("https://queue.clinic.example/lobby/t/")
    made = api.post("/api/v1/appointments", json={"name": "王丽", "phone": "13800138002", "service": "peel",
                                                   "starts_at": "2030-01-02T10:00:00+08:00"}).get_json()
    assert made["checkin_url"].startswith("https://queue.clinic.example/lobby/kiosk/")
    assert made["qr_png_url"].startswith("https://queue.clinic.example/lobby/kiosk/")


def test_a_public_address_that_is_not_one_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("LOBBY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("LOBBY_PUBLIC_URL", "lobby.clinic.example")
    with pytest.raises(ConfigError, match="LOBBY_PUBLIC_URL"):
        create_app({"TESTING": True})
