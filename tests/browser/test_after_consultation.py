"""After the consultation in a real browser: the one-tap outcome on the desk's row, the follow-up
list with its messages and "Mark as contacted", and a store's registered client verified (核定) —
with screenshots in Chinese and in English."""

import datetime as dt

from lobby.domain import clock
from lobby.models import (
    Appointment,
    AppointmentStatus,
    Client,
    HealthQuestionnaire,
    Service,
    Staff,
    Visit,
    VisitKind,
    VisitStatus,
)

from .desk import open_live, sign_in
from .test_admin import log_in
from .test_board import api_post
from .test_english_screens import english


def _consenting(session, number, name, phone, *, language, days_ago=0, outcome="thinking", next_contact=None,
                consultant="bea"):
    """A finished visit of a client who agreed to be contacted."""
    from lobby.domain.settings import clinic_day, get_settings  # noqa: F401
    from lobby.models import Line

    now = clock.utcnow()
    today = clinic_day(session, now)
    client = Client(name=name, phone=phone, language=language, channel="online")
    line = session.query(Line).filter_by(code="skin").one()
    service = session.query(Service).filter_by(code="peel").one()
    staff = session.query(Staff).filter_by(username=consultant).one()
    day = today - dt.timedelta(days=days_ago)
    finished_at = now - dt.timedelta(days=days_ago, minutes=30)
    visit = Visit(clinic_day=day, line=line, number=90 + number, ticket=f"A{90 + number:03d}",
                  kind=VisitKind.WALK_IN, status=VisitStatus.DONE, client=client, service=service, consultant=staff,
                  first_visit=True, checked_in_at=finished_at - dt.timedelta(minutes=40),
                  consultation_started_at=finished_at - dt.timedelta(minutes=25), done_at=finished_at,
                  outcome=outcome, next_contact=next_contact)
    session.add_all([client, visit])
    session.flush()
    session.add(HealthQuestionnaire(visit_id=visit.id, answers={}, flags=[], consent_privacy=True, consent_contact=True))


def seed_follow_ups(query):
    def seed(session):
        from lobby.domain.settings import clinic_day

        today = clinic_day(session, clock.utcnow())
        _consenting(session, 1, "林婉清", "+8613900139001", language="zh_CN", outcome="deal")
        _consenting(session, 2, "Emma Stone", "+8613900139002", language="en", outcome="thinking",
                    next_contact=today + dt.timedelta(days=3))
        _consenting(session, 3, "陈思雨", "+8613900139003", language="zh_CN", days_ago=3, outcome="thinking",
                    next_contact=today, consultant="amy")
        missed = Client(name="赵雅琪", phone="+8613900139004", language=None)
        session.add(missed)
        session.add(Appointment(code="482915", client=missed, starts_at=clock.utcnow() - dt.timedelta(hours=2),
                                service=session.query(Service).filter_by(code="eyelid").one(),
                                status=AppointmentStatus.BOOKED))
        session.commit()
    query(seed)


def test_follow_ups_marked_and_shown_in_both_languages(api, server, browser, artifacts, query):
    seed_follow_ups(query)
    page = log_in(browser, server)
    open_live(page, server.url + "/admin/follow-ups")
    section = page.locator("#follow-ups")
    section.locator("[data-purpose=thanks] li.follow-up").first.wait_for()
    assert section.locator("[data-purpose=thanks] li.follow-up").count() == 2
    assert "林婉清，您好" in section.inner_text()  # her message in Chinese
    assert "Dear Emma Stone" in section.inner_text()  # hers in English, on a Chinese desk
    page.screenshot(path=str(artifacts / "admin-follow-ups.png"), full_page=True, caret="initial")

    row = section.locator("[data-purpose=next_contact] li.follow-up").first
    row.locator("input[name=note]").fill("已回电，下周二来做")
    row.locator("button[type=submit]").click()
    page.locator("[data-purpose=next_contact] li.follow-up.done").wait_for()
    assert "已回电" in page.locator("[data-purpose=next_contact]").inner_text()

    desk = english(browser, server, 1440, 900)
    sign_in(desk, server, "admin")  # a second desk at once
    open_live(desk, server.url + "/admin/follow-ups")
    desk.locator("[data-purpose=no_show] li.follow-up").wait_for()
    assert "Missed bookings to call back" in desk.inner_text("#follow-ups")
    desk.screenshot(path=str(artifacts / "en-admin-follow-ups.png"), full_page=True, caret="initial")


def test_outcome_in_one_tap_and_a_store_client_verified(api, server, browser, artifacts, query):
    def store_code(session):
        from lobby.models import PartnerStore

        session.query(PartnerStore).filter_by(name="A-class store").one().code = "A01"
        session.commit()
    query(store_code)
    api_post(server, api.key, "/api/v1/partner-registrations", {"partner": "A01", "name": "周洁",
                                                                "phone": "13611112222", "note": "想做鼻子"})
    registered = api_post(server, api.key, "/api/v1/visits", {"name": "周洁", "phone": "13611112222",
                                                              "kind": "walk-in", "service": "nose"})
    seen = api_post(server, api.key, "/api/v1/visits", {"name": "李雪", "phone": "13900139000", "kind": "walk-in",
                                                        "service": "peel", "consultant": "bea"})
    for target in ("called", "with_consultant"):
        api_post(server, api.key, f"/api/v1/visits/{seen['id']}/transition", {"to": target})

    page = log_in(browser, server)
    row = page.locator(f"tr[data-ticket='{registered['ticket']}']")
    row.locator("[data-registration]").wait_for()
    assert "A-class store" in row.inner_text()
    page.screenshot(path=str(artifacts / "admin-partner-registration-row.png"), full_page=True)
    row.get_by_role("button", name="核定").click()
    page.locator("#toast.show").wait_for()
    assert "A-class store" in page.inner_text("#toast")
    row.locator(".verified-mark").wait_for()

    finish_row = page.locator(f"tr[data-ticket='{seen['ticket']}']")
    finish_row.locator("button.finish-thinking").click()
    page.locator(f"tr[data-ticket='{seen['ticket']}']").wait_for(state="detached")
    stored = query(lambda s: s.query(Visit).filter_by(public_id=seen["id"]).one().outcome)
    assert stored == "thinking"

    open_live(page, server.url + "/admin/partners")
    page.locator("tr[data-registration]").wait_for()
    page.screenshot(path=str(artifacts / "admin-partner-registrations.png"), full_page=True)
