"""The board in a real browser: a call shows within seconds; a lost server shows "reconnecting",
and after a real restart the board is right again, including what changed while it was down."""

import json
import urllib.request

import pytest

from lobby.database import unit_of_work
from lobby.domain import visits
from lobby.models import Staff

from ..factories import ACTOR
from ..serverproc import ServerProcess


def api_post(server, key, path, body=None):
    request = urllib.request.Request(server.url + path, data=json.dumps(body or {}).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def server_env(app, tmp_path):
    return {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "browser-tests",
            "LOBBY_INSTANCE_PATH": str(tmp_path / "server-instance")}


@pytest.mark.parametrize("viewport", [{"width": 1920, "height": 1080}, {"width": 720, "height": 1280}])
def test_a_call_appears_on_the_board(api, server_env, browser, artifacts, viewport):
    with ServerProcess(server_env) as server:
        api_post(server, api.key, "/api/v1/visits", {"name": "张三华", "phone": "13800138001", "kind": "walk-in",
                                                    "service": "peel"})
        page = browser.new_page(viewport=viewport)
        page.goto(server.url + "/display/")
        page.wait_for_selector('[data-board][data-connected="1"]', timeout=10_000)
        assert page.locator(".call-latest").count() == 0
        api_post(server, api.key, "/api/v1/consultants/amy/call-next")
        latest = page.locator('.call-latest[data-ticket="A001"]')
        latest.wait_for(timeout=5_000)
        assert "1" in latest.locator(".call-where").inner_text()
        page.wait_for_selector(".call-latest.is-new", timeout=5_000)  # highlighted as it arrives
        page.screenshot(path=str(artifacts / f"board-{viewport['width']}x{viewport['height']}.png"))
        page.close()


def test_reconnecting_then_right_again_after_a_real_restart(api, app, server_env, browser, artifacts):
    server = ServerProcess(server_env).start()
    try:
        for phone in ("13800138001", "13800138002"):
            api_post(server, api.key, "/api/v1/visits", {"name": "张三华", "phone": phone, "kind": "walk-in",
                                                        "service": "peel", "consultant": "amy"})
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(server.url + "/display/")
        page.wait_for_selector('[data-board][data-connected="1"]', timeout=10_000)
        overlay = page.locator("[data-reconnecting]")
        assert overlay.is_hidden()

        server.kill()
        overlay.wait_for(state="visible", timeout=15_000)
        assert "正在重新连接" in overlay.inner_text()  # the board's language, not the browser's
        page.screenshot(path=str(artifacts / "board-reconnecting.png"))

        # While the server is down, the front desk calls someone (straight into the database).
        from lobby.extensions import db

        with app.app_context():
            amy = db.session.query(Staff).filter_by(username="amy").one()
            with unit_of_work(db.session):
                visits.call_next(db.session, amy, actor=ACTOR)

        server = ServerProcess(server_env, port=server.port).start()
        page.locator('.call-latest[data-ticket="A001"]').wait_for(timeout=20_000)
        overlay.wait_for(state="hidden", timeout=5_000)
        page.close()
    finally:
        server.kill()
