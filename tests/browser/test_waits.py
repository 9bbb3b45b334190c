"""Waits in a real browser: the phone shows a range and, when the wait moves past the threshold,
a gentle notice arrives live; the desk row asks a receptionist to tell the visitor until ticked;
the reports page shows the estimate's accuracy and replays the day with one more consultant."""

import datetime as dt
from zoneinfo import ZoneInfo

from .test_admin import log_in
from .test_board import api_post


def test_the_range_the_retelling_and_the_what_if(api, server, browser, artifacts):
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    shifts = [{"username": u, "start": "00:00", "end": "23:59", "breaks": []} for u in ("amy", "bea", "cai", "dan")]
    assert api.put(f"/api/v1/roster/{today.isoformat()}", json=shifts).status_code == 200
    first = api_post(server, api.key, "/api/v1/visits", {"name": "赵敏", "phone": "13800138001", "kind": "walk-in",
                                                         "service": "peel", "consultant": "amy"})
    for step in ("called", "with_consultant"):
        api_post(server, api.key, f"/api/v1/visits/{first['id']}/transition", {"to": step})
    mine = api_post(server, api.key, "/api/v1/visits", {"name": "张晓华", "phone": "13800138002", "kind": "walk-in",
                                                        "service": "peel", "consultant": "amy"})
    assert mine["expected_wait_max_minutes"] > mine["expected_wait_minutes"] > 0

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    phone.goto(mine["ticket_url"])
    phone.wait_for_selector("[data-wait]")
    assert "最多 " in phone.inner_text("[data-wait-upper]") and phone.locator("[data-retold]").is_hidden()
    assert phone.locator("[data-almost]").is_hidden()  # next, but about 20 minutes: not "almost" yet
    phone.screenshot(path=str(artifacts / "waits-phone-range.png"))

    # amy is called away for 45 minutes: the wait moves past the 10-minute threshold.
    until = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=45)).isoformat()
    api_post(server, api.key, "/api/v1/staff/amy/duty", {"status": "away", "until": until})
    phone.wait_for_selector("[data-retold]:not([hidden])", timeout=10_000)
    assert "更新" in phone.inner_text("[data-retold]")
    assert "约 4" in phone.inner_text("[data-wait]")  # about 45 minutes now
    phone.screenshot(path=str(artifacts / "waits-phone-retold.png"), animations="disabled")

    desk = log_in(browser, server)
    prompt = desk.locator("[data-retell]")
    prompt.wait_for(timeout=10_000)
    assert "张*华" in prompt.inner_text() and "约 4" in prompt.inner_text()
    desk.screenshot(path=str(artifacts / "waits-desk-prompt.png"), full_page=True)
    prompt.locator("button").click()
    desk.wait_for_selector("[data-retell]", state="detached", timeout=10_000)

    api_post(server, api.key, f"/api/v1/visits/{first['id']}/transition", {"to": "done"})
    desk.goto(server.url + f"/admin/reports?start={today.isoformat()}&what_if_start=09:00&what_if_end=18:00")
    desk.wait_for_selector("[data-what-if]")
    assert "再多一位咨询师" in desk.inner_text(".what-if")
    desk.locator(".what-if").scroll_into_view_if_needed()
    desk.screenshot(path=str(artifacts / "waits-reports-what-if.png"), full_page=True)
