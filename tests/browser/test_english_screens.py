"""The changed screens in English, with a screenshot of each (the Chinese ones are taken by the
other browser tests): a desk, a tablet and a phone whose browsers ask for English."""

from urllib.parse import urlsplit

from .desk import open_live, sign_in
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
    sign_in(desk, server, "desk")
    desk.select_option("select[name=group]", "line")
    desk.locator("tr[data-group]").first.wait_for()
    assert "By line" in desk.inner_text("#queue-filters")
    desk.screenshot(path=str(artifacts / "en-admin-grouped-by-line.png"), full_page=True)
    open_live(desk, server.url + "/admin/appointments")
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


def test_the_kiosk_and_the_board_in_english(api, server, browser, artifacts):
    api_post(server, api.key, "/api/v1/visits", {"name": "Emma Stone", "phone": "13800138001", "kind": "walk-in",
                                                 "service": "peel"})
    tablet = english(browser, server, 1280, 800, kiosk=True)
    tablet.goto(server.url + "/kiosk/")
    tablet.get_by_role("button", name="I have an appointment").click()
    tablet.locator("[data-scanner][data-camera-state=none]").wait_for()
    assert "no camera" in tablet.inner_text("[data-scan-status]")
    tablet.screenshot(path=str(artifacts / "en-kiosk-no-camera.png"), animations="disabled")
    tablet.goto(server.url + "/kiosk/next")
    tablet.get_by_role("button", name="I'm accompanying someone").click()
    tablet.fill("input[name=ticket]", "A001")
    tablet.get_by_role("button", name="Next").click()
    tablet.locator(".companion-qr img").wait_for()
    tablet.wait_for_function("() => document.querySelector('.companion-qr img').complete")
    assert "Scan to follow A001 on your phone" in tablet.inner_text("#kiosk-panel")
    tablet.screenshot(path=str(artifacts / "en-kiosk-companion.png"), animations="disabled")

    board = english(browser, server, 1920, 1080)
    board.goto(server.url + "/display/?lang=en")
    board.wait_for_selector('[data-board][data-connected="1"]')
    api_post(server, api.key, "/api/v1/consultants/amy/call-next")
    board.locator(".call.is-new").first.wait_for()
    assert "Room 1" in board.inner_text(".call-latest")
    board.screenshot(path=str(artifacts / "en-board-1920x1080.png"), animations="disabled")
