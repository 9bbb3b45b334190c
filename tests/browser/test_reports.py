"""The figures in real Chromium over a realistic fortnight: the face-to-face table (一日当面咨询表) and
the trend charts, in Chinese and in English, with screenshots (test-artifacts/)."""

import datetime as dt
import re

import pytest

from lobby.domain.trends import buckets

from ..history import build_realistic_history, clinic_of
from .desk import sign_in
from .test_accessibility import violations

CONSULTANTS = {"amy": "周敏", "bea": "李娜", "cai": "陈静", "dan": "王芳", "dr_sun": "孙医生"}
STORES = {"A-class store": "丽人美容会所", "Ordinary store": "悦己美甲店"}


@pytest.fixture
def fortnight(api, query):
    """Two weeks ending today (the server runs on the real clock), under the clinic's own names."""
    from lobby.domain.settings import clinic_day
    from lobby.models import PartnerStore, Staff

    def fill(session):
        today = clinic_day(session)
        build_realistic_history(session, clinic_of(session), today)
        for member in session.query(Staff):
            member.display_name = CONSULTANTS.get(member.username, member.display_name)
        for store in session.query(PartnerStore):
            store.name = STORES[store.name]
        session.commit()
        return today

    return query(fill)


def log_in(browser, server, locale):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale=locale)
    return sign_in(context.new_page(), server, "desk", live=False)


@pytest.mark.parametrize("language,locale", [("zh", "zh-CN"), ("en", "en-GB")])
def test_face_to_face_table_and_trend_charts(server, browser, artifacts, fortnight, language, locale):
    page = log_in(browser, server, locale)
    yesterday = (fortnight - dt.timedelta(days=1)).isoformat()
    page.goto(server.url + f"/admin/reports?start={yesterday}")
    table = page.locator(".face-to-face")
    table.wait_for()
    assert "一日当面咨询表" in table.inner_text()
    assert page.locator(".f2f-visitors tbody tr").count() >= 7
    assert page.locator(".f2f-consultants tbody tr").count() >= 2  # the consultants of the day
    if language == "en":
        assert "1st" in page.locator(".f2f-consultants").inner_text()
    table.screenshot(path=str(artifacts / f"{language}-reports-face-to-face.png"), animations="disabled")
    page.screenshot(path=str(artifacts / f"{language}-reports-day.png"), full_page=True, animations="disabled")
    assert violations(page) == []  # axe-core: nothing serious or critical (WCAG AA contrast among them)

    with page.expect_navigation():  # the whole trends page, not its first chart
        page.locator(".report-tabs a").nth(1).click()
    assert page.locator("svg.chart").count() == 2 + 4 + 2 + 4  # a small chart per consultant and per line
    assert page.locator('[data-chart="trend"] .mark.column').count() == 28
    assert page.locator('[data-chart="trend_rate"] .mark.point').count() == 14
    headings = page.locator('[data-chart="trend_by_consultant"] h3').all_inner_texts()
    assert sorted(re.split("[:：]", h)[0] for h in headings) == sorted(["周敏", "李娜", "陈静", "王芳"])
    # Every chart is drawn at its own size: one SVG unit is one pixel, so the labels read at 11-12 px.
    box = page.locator('[data-chart="trend"] svg.chart').bounding_box()
    assert 560 <= box["width"] <= 640
    page.screenshot(path=str(artifacts / f"{language}-reports-trends.png"), full_page=True, animations="disabled")
    assert violations(page) == []
    page.select_option("select[name=by]", "week")
    page.click(".filters button")
    page.wait_for_url("**by=week**")
    weeks = len(buckets(fortnight - dt.timedelta(days=13), fortnight, "week"))  # 2, or 3 unless today is a Sunday
    assert page.locator('[data-chart="trend_rate"] .mark.point').count() == weeks
    page.locator(".chart-grid").first.screenshot(path=str(artifacts / f"{language}-reports-trends-weekly.png"),
                                                 animations="disabled")
