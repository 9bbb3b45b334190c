"""Every `next` stays on this site: one helper for the language switch and the staff login."""

import re

import pytest

from lobby.redirects import safe_next

from .factories import PASSWORD

HOSTILE = ["/%09/evil.example", "/\t/evil.example", "/%0a/evil.example", "//evil.example", "///evil.example",
           "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "https://evil.example", "http:evil.example",
           "javascript:alert(1)", " //evil.example", "evil.example", "/%E2%80%AE/evil.example", ""]


@pytest.mark.parametrize("target", HOSTILE)
def test_the_language_switch_never_leaves_the_site(client, target):
    # Percent-escapes are sent as typed in the address bar; the rest is encoded by the client.
    response = (client.get(f"/lang/en?next={target}") if "%" in target
                else client.get("/lang/en", query_string={"next": target}))
    location = response.headers["Location"]
    assert response.status_code == 302 and location == "/kiosk/"


@pytest.mark.parametrize("target", HOSTILE + ["/kiosk/"])
def test_the_staff_login_goes_only_to_desk_pages(app, api, target):
    web = app.test_client()
    page = web.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = web.post("/admin/login", query_string={"next": target},
                        data={"username": "desk", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"


@pytest.mark.parametrize("target,expected", [("/display/?lang=en", "/display/?lang=en"), ("/kiosk/", "/kiosk/"),
                                             ("/admin/visits/x", "/admin/visits/x")])
def test_paths_on_the_site_are_kept(target, expected):
    assert safe_next(target, "/fallback") == expected


def test_under_keeps_to_its_part_of_the_site():
    assert safe_next("/admin/rotation", "/f", under="/admin") == "/admin/rotation"
    assert safe_next("/administrator", "/f", under="/admin") == "/f"
    assert safe_next("/kiosk/", "/f", under="/admin") == "/f"
