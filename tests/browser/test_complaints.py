"""Complaints in real Chromium: the desk registers a complaint (the complaint fields appear only for that
kind), lands on its record, writes the calming note; the record and the list with its figures, in
Chinese and in English, with screenshots (and axe-core's WCAG check)."""

import datetime as dt

from lobby.database import unit_of_work
from lobby.domain import complaints, roster
from lobby.domain.audit import Actor
from lobby.domain.settings import clinic_day
from lobby.models import ClinicSettings, Line, Staff

from ..factories import new_client
from .desk import sign_in
from .test_accessibility import violations

NAMES = {"amy": "周敏", "bea": "白雪", "cai": "蔡琳", "dr_sun": "孙立", "desk": "林小雅"}


def desk_page(browser, server, locale, username="desk"):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale=locale)
    return sign_in(context.new_page(), server, username)


def a_clinic_with_complaints(session):
    """Heads and customer service set; a week of complaints on the real clock (the server's)."""
    for username, name in NAMES.items():
        session.query(Staff).filter_by(username=username).one().display_name = name
    surgery = session.query(Line).filter_by(code="surgery").one()
    skin = session.query(Line).filter_by(code="skin").one()
    staff = {m.username: m for m in session.query(Staff)}
    surgery.head, skin.head = staff["dr_sun"], staff["bea"]
    session.query(ClinicSettings).one().customer_service = "客服部 · 刘女士 · 分机 8001"
    session.commit()
    now = dt.datetime.now(dt.timezone.utc)
    today = clinic_day(session, now)
    desk = Actor("staff:desk", staff["desk"].id)
    with unit_of_work(session):
        # Today the surgeon is not on the roster: a surgery complaint goes to customer service.
        roster.replace_roster(session, today, [{"username": "amy", "start": "00:00", "end": "23:59", "breaks": []}],
                              actor=desk)
        roster.replace_roster(session, today - dt.timedelta(days=5),
                              [{"username": "dr_sun", "start": "00:00", "end": "23:59", "breaks": []}], actor=desk)
        roster.replace_roster(session, today - dt.timedelta(days=1),
                              [{"username": "amy", "start": "00:00", "end": "23:59", "breaks": []}], actor=desk)
    client = new_client(session, name="王芳")
    session.commit()
    days = [(5, "surgery", "amy", None, "面诊时间比预约晚了四十分钟，没有人解释。", "主任当面致歉，下次预约优先安排。"),
            (3, "skin", "cai", None, "光子嫩肤后脸颊发红，电话回访一直没人接。", "皮肤科复诊，确认为正常反应，赠送修复面膜。"),
            (1, "surgery", "amy", client, "术前说明与术后效果不一致，要求退还部分费用。", None)]
    for ago, line, about, who, what, resolution in days:
        at = now - dt.timedelta(days=ago)
        with unit_of_work(session):
            made = complaints.open_complaint(session, what_happened=what, line=session.query(Line).filter_by(code=line).one(),
                                             about_staff=staff[about], client=who, actor=desk, now=at)
            complaints.calm(session, made, note="在贵宾室安抚，倒了温水，耐心听完。", actor=desk, now=at)
            complaints.escalate(session, made, actor=desk, now=at + dt.timedelta(minutes=10))
            if resolution:
                complaints.close(session, made, resolution=resolution, actor=desk, now=at + dt.timedelta(hours=2))
    return {"surgery": surgery.id, "amy": staff["amy"].id}


def test_the_desk_registers_a_complaint_and_keeps_its_record(api, server, browser, artifacts, query):
    ids = query(a_clinic_with_complaints)
    desk = desk_page(browser, server, "zh-CN")
    desk.goto(server.url + "/admin/register")
    fields = desk.locator("[data-complaint-fields]")
    assert not fields.is_visible()  # a walk-in is not asked what happened
    desk.select_option("select[name=kind]", "complaint")
    fields.wait_for(state="visible")
    desk.fill("input[name=name]", "赵丽")
    desk.fill("input[name=phone]", "13600136000")
    desk.fill("textarea[name=what_happened]", "术后复查等了一个小时，咨询师周敏一直没出现，电话也不接。\n希望有人给个说法。")
    desk.select_option("select[name=complaint_line]", str(ids["surgery"]))
    desk.select_option("select[name=about_staff]", str(ids["amy"]))
    desk.screenshot(path=str(artifacts / "admin-register-complaint.png"), full_page=True)
    desk.click("#register form button[type=submit]")
    desk.locator("[data-complaint-link]").click()
    desk.wait_for_selector("[data-complaint]")
    # Today the surgeon is not rostered: the button says customer service, and why.
    assert desk.locator("[data-target]").get_attribute("data-target") == "customer_service"
    assert desk.locator("[data-why]").get_attribute("data-why") == "not_rostered"
    assert desk.locator("[data-recurs]").get_attribute("data-recurs") == "2"  # 周敏, twice this week
    desk.fill("textarea[name=calming_note]", "请到贵宾室休息，倒了温水；耐心听完，向她道歉，说明会尽快给答复。")
    desk.click("[data-step=calm] button[type=submit]")
    desk.wait_for_selector("[data-done=calmed]")
    assert desk.locator("[data-step=calm]").get_attribute("class").endswith("done")
    desk.screenshot(path=str(artifacts / "admin-complaint-record.png"), full_page=True)
    assert violations(desk) == []

    desk.goto(server.url + "/admin/complaints")
    desk.wait_for_selector("[data-figures-per-staff] .bar-row")
    assert desk.locator("[data-open-complaints] tr[data-complaint]").count() == 2
    assert desk.locator('[data-figures-per-staff] [data-staff="amy"] .bar-value').inner_text().startswith("3")
    desk.screenshot(path=str(artifacts / "admin-complaints.png"), full_page=True)
    assert violations(desk) == []


def test_the_complaint_screens_in_english(api, server, browser, artifacts, query):
    query(a_clinic_with_complaints)
    desk = desk_page(browser, server, "en-GB")
    desk.goto(server.url + "/admin/complaints")
    desk.wait_for_selector("[data-figures-per-day]")
    assert "Per person named" in desk.inner_text("[data-figures-per-staff]")
    desk.screenshot(path=str(artifacts / "en-admin-complaints.png"), full_page=True)
    with desk.expect_navigation():  # (the list's rows are [data-complaint] too)
        desk.locator("[data-open-complaints] tr[data-complaint] a").first.click()
    assert "Reported to customer service" in desk.inner_text("[data-step=escalate]")
    desk.screenshot(path=str(artifacts / "en-admin-complaint-record.png"), full_page=True)
    # A record not reported yet: whom it will go to, and why.
    desk.goto(server.url + "/admin/complaints")
    desk.locator("summary", has_text="New complaint").click()
    desk.fill("[data-complaint-form] textarea[name=what_happened]", "Charged for a treatment that was not done.")
    desk.select_option("[data-complaint-form] select[name=complaint_line]", label="Surgery")
    desk.click("[data-complaint-form] button[type=submit]")
    desk.wait_for_selector("[data-done=opened]")
    assert "Head off duty: 孙立 (not on today's roster)." in desk.inner_text("[data-step=escalate]")
    desk.screenshot(path=str(artifacts / "en-admin-complaint-new-record.png"), full_page=True)
    assert violations(desk) == []


def test_an_admin_says_where_complaints_go(api, server, browser, artifacts, query):
    query(a_clinic_with_complaints)
    admin = desk_page(browser, server, "en-GB", "admin")
    admin.goto(server.url + "/admin/settings")
    card = admin.locator("[data-complaint-routing]")
    card.wait_for()
    admin.fill("[data-complaint-routing] input[name=customer_service]", "客服部 · Ms Liu · ext. 8001")
    card.locator("select").nth(0).select_option(label="周敏 · Consultant")
    card.get_by_role("button", name="Save where complaints go").click()
    admin.get_by_text("Saved: where complaints go.").wait_for()
    assert admin.locator("[data-complaint-routing] input[name=customer_service]").input_value() == "客服部 · Ms Liu · ext. 8001"
    admin.screenshot(path=str(artifacts / "en-admin-settings-complaints.png"), full_page=True)
