"""The clinic's own records on the desk, in real Chromium and in both languages: the row with the own
consultant, the surgeon and the days since surgery, the identity and duty alerts; the roster page; the
rotation board with each consultant's first visits in order and the doctors' duty."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from .desk import open_live
from .test_admin import log_in


def a_clinic_day(api):
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    shifts = [{"username": u, "start": "00:00", "end": "23:59", "breaks": [["12:00", "12:45"]] if u == "bea" else []}
              for u in ("amy", "bea", "cai", "dan", "dr_sun")]
    assert api.put(f"/api/v1/roster/{today.isoformat()}", json=shifts).status_code == 200
    api.post("/api/v1/staff/dan/duty", json={"status": "away"})
    booking = api.post("/api/v1/appointments", json={
        "name": "李娜", "phone": "13700137000", "service": "sutures", "surgeon": "dr_sun",
        "surgery_date": (today - dt.timedelta(days=7)).isoformat(),
        "starts_at": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=10)).isoformat()}).get_json()
    api.post("/api/v1/visits", json={"appointment_code": booking["code"]})
    for phone, name in (("13800138001", "王小美"), ("13800138002", "陈佳怡"), ("13800138003", "周雨涵")):
        api.post("/api/v1/visits", json={"name": name, "phone": phone, "service": "peel"})
    first = api.post("/api/v1/visits", json={"name": "赵敏", "phone": "13800138004", "service": "peel"}).get_json()
    for step in ("called", "with_consultant", "done"):
        api.post(f"/api/v1/visits/{first['id']}/transition", json={"to": step})
    api.post("/api/v1/visits", json={"name": "赵敏", "phone": "13800138004", "kind": "returning", "service": "peel"})
    api.post("/api/v1/visits", json={"name": "吴芳", "phone": "13800138005", "service": "nose", "consultant": "dan"})
    api.post("/api/v1/visits", json={"name": "刘婷", "phone": "13600136000", "kind": "post-op"})
    api.post("/api/v1/visits", json={"name": "马丽", "phone": "13800138001", "service": "peel"})  # same phone
    api.post("/api/v1/visits", json={"name": "黄先生", "phone": "13500135000", "kind": "complaint"})


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_desk_row_roster_and_rotation_board(api, server, browser, artifacts, lang):
    a_clinic_day(api)
    desk = log_in(browser, server)
    desk.goto(server.url + f"/lang/{lang}?next=/admin/")
    desk.wait_for_selector('[data-admin][data-connected="1"]')
    zh = lang == "zh_CN"
    post_op = desk.locator("tr[data-ticket]", has_text="李娜")
    assert ("术后第 7 天" if zh else "7 days since surgery") in post_op.inner_text()
    assert ("主刀：" if zh else "Surgeon: ") in post_op.inner_text()
    returning = desk.locator("tr[data-ticket]", has_text="赵敏").last
    assert ("归属：" if zh else "Own consultant: ") in returning.inner_text()
    unknown = desk.locator("tr[data-ticket]", has_text="刘婷")
    assert ("请查明主刀医生" if zh else "find the operating surgeon") in unknown.inner_text()
    away = desk.locator("tr[data-ticket]", has_text="吴芳")
    assert ("可接待" if zh else "Who else fits") in away.inner_text()
    same_phone = desk.locator("tr[data-ticket]", has_text="马丽")
    assert same_phone.locator(".badge.identity").count() == 1  # same phone, another name
    desk.screenshot(path=str(artifacts / f"clinic-truth-desk-{lang}.png"), full_page=True)

    desk.goto(server.url + "/admin/roster")
    desk.wait_for_selector(".roster-table")
    assert desk.locator('tr[data-staff="amy"] input[type=time]').first.input_value() == "00:00"
    desk.screenshot(path=str(artifacts / f"clinic-truth-roster-{lang}.png"), full_page=True)

    open_live(desk, server.url + "/admin/rotation")
    desk.wait_for_selector("#rotation")
    amy = desk.locator('tr[data-consultant="amy"]')
    assert amy.locator("[data-turns]").inner_text() != "0" and "A0" in amy.locator(".first-visits").inner_text()
    assert desk.locator('tr[data-doctor="dr_sun"]').count() == 1
    desk.screenshot(path=str(artifacts / f"clinic-truth-rotation-{lang}.png"), full_page=True)
