"""The changed screens in English, with a screenshot of each (the Chinese ones are taken by the
other browser tests): a desk, a tablet and a phone whose browsers ask for English."""

from urllib.parse import urlsplit

from ..factories import PASSWORD
from .test_board import api_post
from .test_kiosk import lobby_tablet_cookie


def english(browser, server, width, height, kiosk=False):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB")
    if kiosk:
        context.add_cookies([lobby_tablet_cookie(server)])
    return context.new_page()


def test_the_changed_screens_in_english(api, server, browser, artifacts):
    for i, (name, service) in enumerate([("Emma Stone", "peel"), ("Li Xue", "eyelid"), ("Wang Wu", "nose")]):
        api_post(server, api.key, "/api/v1/visits", {"name": name, "phone": f"1380013800{i}", "kind": "walk-in",
                                                     "service": service})
    desk = english(browser, server, 1440, 900)
    desk.goto(server.url + "/admin/login")
    desk.fill("input[name=username]", "desk")
    desk.fill("input[name=password]", PASSWORD)
    desk.click("button[type=submit]")
    desk.wait_for_selector('[data-admin][data-connected="1"]')
    desk.select_option("select[name=group]", "line")
    desk.locator("tr[data-group]").first.wait_for()
    assert "By line" in desk.inner_text("#queue-filters")
    desk.screenshot(path=str(artifacts / "en-admin-grouped-by-line.png"), full_page=True)
    desk.goto(server.url + "/admin/appointments")
    desk.wait_for_selector("#appointment-search")
    assert "Find an arrival" in desk.inner_text("#appointments")
    desk.screenshot(path=str(artifacts / "en-admin-appointments.png"), full_page=True)

    tablet = english(browser, server, 800, 1280, kiosk=True)
    tablet.goto(server.url + "/kiosk/")
    tablet.get_by_role("button", name="First visit, no appointment").click()
    tablet.fill("input[name=name]", "John Smith")
    tablet.fill("input[name=phone]", "13900139010")
    tablet.locator("label.chip:has(input[name=gender][value=male])").click()
    tablet.fill("input[name=birth_year]", "1980")
    tablet.locator("label.chip", has_text="Chemical peel").click()
    tablet.get_by_role("button", name="Next").click()
    tablet.wait_for_selector("input[name=consent_privacy]")
    tablet.get_by_role("button", name="Get my number").click()
    tablet.wait_for_selector(".form-mistakes")
    assert "Please tell us whether you smoke." in tablet.inner_text("#kiosk-panel")
    assert tablet.locator("input[name=pregnancy]").count() == 0  # not asked of a man
    tablet.screenshot(path=str(artifacts / "en-kiosk-questionnaire-mistakes.png"), animations="disabled")

    phone = english(browser, server, 390, 844)
    booked = api.post("/api/v1/appointments", json={"name": "Emma Stone", "phone": "13800138000",
                                                    "service": "peel", "starts_at": "2030-01-02T15:00:00+08:00"})
    link = urlsplit(booked.get_json()["checkin_url"]).path
    phone.goto(server.url + link)
    phone.locator("[data-appointment-elsewhere]").wait_for()
    assert "When you arrive, scan this code" in phone.inner_text("#kiosk-panel")
    phone.screenshot(path=str(artifacts / "en-phone-booking-link.png"), animations="disabled")
