"""Who is who, in real Chromium: a walk-in typing a client's phone under another name is flagged on
the desk live, compared and resolved there; a proven returning client is told the topics of last time."""

import datetime as dt

from lobby.extensions import db
from lobby.models import Client, HealthQuestionnaire, Staff, Visit, VisitKind

from .test_admin import log_in
from .test_kiosk import Shots, answer_questionnaire, tablet


def zhang_on_file(app):
    with app.app_context():
        amy = db.session.query(Staff).filter_by(username="amy").one()
        client = Client(name="张三华", phone="+8613700137000", gender="female", birth_year=1990, consultant=amy)
        db.session.add(client)
        db.session.flush()
        earlier = Visit(clinic_day=dt.date.today() - dt.timedelta(days=30), line_id=1, number=1, ticket="A001",
                        kind=VisitKind.WALK_IN, client=client,
                        checked_in_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30))
        db.session.add(earlier)
        db.session.flush()
        db.session.add(HealthQuestionnaire(visit_id=earlier.id, flags=["allergy"], consent_privacy=True, answers={
            "allergies": ["drugs"], "allergy_detail": "青霉素", "chronic": [], "medication": [], "pregnancy": "no",
            "smoking": "no", "surgery_history": "", "procedure_history": "", "medication_detail": ""}))
        db.session.commit()


def test_a_mismatch_is_flagged_on_the_desk_and_resolved_there(app, server, browser, artifacts):
    zhang_on_file(app)
    desk = log_in(browser, server)
    page = tablet(browser, server)
    page.get_by_role("button", name="现场咨询").click()
    page.fill("input[name=name]", "李四")
    page.fill("input[name=phone]", "13700137000")
    page.locator("label.chip", has_text="男").first.click()
    page.fill("input[name=birth_year]", "1985")
    page.locator("label.chip", has_text="果酸焕肤").click()
    page.get_by_role("button", name="下一步").click()
    answer_questionnaire(page, lambda label: None)

    row = desk.locator("tr[data-ticket]", has_text="李四")
    row.wait_for(timeout=10_000)
    assert "同一手机号，姓名不同" in row.inner_text()
    desk.screenshot(path=str(artifacts / "admin-identity-row.png"), full_page=True)
    with desk.expect_navigation():
        row.get_by_role("link", name="同一手机号，姓名不同").click()
    card = desk.locator(".identity-check").inner_text()
    assert "李四" in card and "张三华" in card and "1985" in card and "1990" in card
    desk.screenshot(path=str(artifacts / "admin-identity-compare.png"), full_page=True)
    with desk.expect_navigation():  # (.visitor-detail is on the page left as well as the next)
        desk.get_by_role("button", name="不是同一人：保留两份档案").click()
    assert desk.locator(".identity-check").count() == 0


def test_a_proven_returning_client_is_told_the_topics_never_the_answers(app, server, browser, artifacts):
    zhang_on_file(app)
    page = tablet(browser, server, portrait=True)
    shot = Shots(page, artifacts, "returning-proven")
    page.get_by_role("button", name="复诊 / 老顾客").click()
    page.fill("input[name=phone]", "13700137000")
    page.fill("input[name=name]", "张三华")
    page.fill("input[name=birth_year]", "1990")
    page.get_by_role("button", name="下一步").click()
    page.wait_for_selector("text=张女士，欢迎您再次光临")
    page.get_by_role("button", name="下一步").click()
    page.wait_for_selector("text=上次您告诉我们：过敏")
    shot("topics")
    assert "青霉素" not in page.content()
    assert page.locator("input[type=checkbox]:checked").count() == 0
