"""Settings → Webhooks in real Chromium: an admin adds an endpoint, the server process delivers the
events of two finished visits to real receivers (one of them failing), and the delivery log shows it;
a screenshot in English and one in Chinese."""

import pytest

from lobby.database import unit_of_work
from lobby.domain import webhooks
from lobby.models import WebhookDelivery

from ..factories import ACTOR
from ..test_webhooks import Receiver, wait_until
from .desk import sign_in
from .test_board import api_post


@pytest.fixture
def receivers():
    crm, sms = Receiver(), Receiver()
    sms.status = 503  # the SMS gateway is down: its deliveries wait for a retry
    yield crm, sms
    crm.close()
    sms.close()


def log_in(browser, server, locale):
    page = browser.new_context(viewport={"width": 1440, "height": 900}, locale=locale).new_page()
    return sign_in(page, server, "admin")


def finish_a_visit(server, key, name, phone, consultant):
    visit = api_post(server, key, "/api/v1/visits", {"name": name, "phone": phone, "kind": "walk-in",
                                                     "service": "peel", "consultant": consultant})
    path = f"/api/v1/visits/{visit['id']}/transition"
    for step in ({"to": "called"}, {"to": "with_consultant"}, {"to": "done", "outcome": "deal"}):
        api_post(server, key, path, step)


def test_the_webhook_settings_and_delivery_log(api, server, browser, artifacts, query, receivers):
    crm, sms = receivers

    def add_sms_gateway(session):
        with unit_of_work(session):
            webhooks.add_endpoint(session, sms.url("/sms/lobby"), ["visit.outcome"], False, actor=ACTOR)

    query(add_sms_gateway)
    admin = log_in(browser, server, "en-GB")
    admin.goto(server.url + "/admin/settings?section=webhooks")
    form = admin.locator("form[data-add-webhook]")
    form.locator("input[name=url]").fill(crm.url("/crm/hooks/lobby"))
    form.get_by_label("Visit finished").check()
    form.get_by_label("Consultation outcome recorded").check()
    form.get_by_label("Include name and phone").check()
    form.get_by_role("button", name="Add").click()
    admin.locator(".flash.ok", has_text="Endpoint added").wait_for()
    assert admin.locator("details.wh-secret[open] code").inner_text().strip()  # to copy into the CRM
    admin.locator("[data-webhooks]").screenshot(path=str(artifacts / "en-admin-webhook-added.png"))

    finish_a_visit(server, api.key, "Emma Stone", "13800138001", "amy")
    finish_a_visit(server, api.key, "Li Xue", "13800138002", "bea")
    crm.wait_for(4)
    sms.wait_for(2)
    assert wait_until(lambda: query(lambda s: s.query(WebhookDelivery).filter(
        WebhookDelivery.delivered_at.isnot(None)).count()) == 4)
    assert wait_until(lambda: query(lambda s: s.query(WebhookDelivery).filter(
        WebhookDelivery.attempts > 0, WebhookDelivery.delivered_at.is_(None)).count()) == 2)

    admin.goto(server.url + "/admin/settings?section=webhooks")
    log = admin.locator("[data-delivery-log]")
    assert log.locator('tr[data-state="delivered"]').count() == 4
    assert log.locator('tr[data-state="retrying"]').count() == 2
    assert "Retrying at" in log.inner_text() and "HTTP 503" in log.inner_text()
    admin.screenshot(path=str(artifacts / "en-admin-settings-webhooks.png"), full_page=True)

    chinese = log_in(browser, server, "zh-CN")
    chinese.goto(server.url + "/admin/settings?section=webhooks")
    chinese.locator("[data-delivery-log] tr[data-state]").first.wait_for()
    chinese.screenshot(path=str(artifacts / "admin-settings-webhooks.png"), full_page=True)
