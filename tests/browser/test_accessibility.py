"""Every screen checked by axe-core (from npm, run in the page): no violation axe rates serious or
critical (WCAG AA colour contrast among them); and what a first load transfers."""

from pathlib import Path

import pytest

from .test_admin import log_in
from .test_board import api_post
from .test_kiosk import lobby_tablet_cookie, tablet

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def violations(page):
    page.wait_for_function("() => !document.querySelector('.htmx-request')")  # a refresh settled
    page.evaluate(AXE.read_text())
    found = page.evaluate("""async () => {
        const result = await axe.run(document);
        return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => ({id: v.id, nodes: v.nodes.map((n) => n.target.join(" ") + " :: " + n.failureSummary)}));
    }""")
    return found


def check_in(server, api, phone, name="张三华", **extra):
    return api_post(server, api.key, "/api/v1/visits", {"name": name, "phone": phone, "kind": "walk-in",
                                                        "service": "peel", **extra})


@pytest.fixture
def busy_clinic(api, server):
    tickets = [check_in(server, api, f"1380013800{i}", name=n) for i, n in enumerate(["张三华", "李四娟", "王五"])]
    api_post(server, api.key, "/api/v1/consultants/amy/call-next")
    return tickets


def test_the_desk_meets_wcag_aa(server, browser, busy_clinic):
    desk = log_in(browser, server)
    desk.locator("tr[data-ticket]").first.wait_for()
    assert violations(desk) == []
    for path, ready in (("/admin/rotation", "#rotation"), ("/admin/appointments", "#appointments"),
                        ("/admin/reports", "h1"), ("/admin/register", "form")):
        desk.goto(server.url + path)
        desk.wait_for_selector(ready)
        assert violations(desk) == [], path


def test_the_board_meets_wcag_aa(api, server, browser, busy_clinic, artifacts):
    for i, service in enumerate(["eyelid", "nose", "peel"] * 4):
        check_in(server, api, f"139001390{i:02d}", name="李雪", service=service)
    board = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    board.goto(server.url + "/display/")
    board.wait_for_selector('[data-board][data-connected="1"]')
    assert violations(board) == []
    api_post(server, api.key, "/api/v1/consultants/amy/call-next")  # a call just made: highlighted
    board.locator(".call.is-new").first.wait_for()
    assert violations(board) == []
    board.screenshot(path=str(artifacts / "board-busy-1920x1080.png"), animations="disabled")
    queued = board.locator(".line-tickets li").first
    assert queued.evaluate("li => parseFloat(getComputedStyle(li).fontSize)") >= 56  # read from 5 m


def test_the_kiosk_and_the_phone_page_meet_wcag_aa(server, browser, busy_clinic):
    page = tablet(browser, server)
    assert violations(page) == []
    page.get_by_role("button", name="现场咨询").click()
    page.wait_for_selector("input[name=name]")
    assert violations(page) == []
    page.fill("input[name=name]", "欧阳娜娜")
    page.fill("input[name=phone]", "13900139000")
    page.locator("label.chip", has_text="女").first.click()
    page.fill("input[name=birth_year]", "1990")
    page.locator("label.chip", has_text="果酸焕肤").click()
    page.get_by_role("button", name="下一步").click()
    page.wait_for_selector("input[name=consent_privacy]")
    assert violations(page) == []
    page.get_by_role("button", name="领取号码").click()  # every mistake at once, in red
    page.wait_for_selector(".form-mistakes")
    assert violations(page) == []
    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    phone.goto(busy_clinic[-1]["ticket_url"])
    assert violations(phone) == []


def transferred_kb(page) -> float:
    """What the page's first load took over the wire (document and every resource), in KB."""
    page.wait_for_load_state("networkidle")
    return page.evaluate("""() => performance.getEntriesByType("navigation").concat(
        performance.getEntriesByType("resource")).reduce((sum, e) => sum + e.transferSize, 0)""") / 1024


def test_a_first_load_of_the_kiosk_and_the_board_is_small(server, browser, busy_clinic, artifacts):
    """Kiosk at most 100 KB, board at most 120 KB, on a cold cache (figures in BENCHMARKS.md)."""
    sizes = {}
    for name, path, limit in (("kiosk", "/kiosk/", 100), ("board", "/display/", 120)):
        context = browser.new_context(viewport={"width": 1920, "height": 1080})
        page = context.new_page()
        if name == "kiosk":
            context.add_cookies([lobby_tablet_cookie(server)])
        page.goto(server.url + path)
        sizes[name] = transferred_kb(page)
        context.close()
        assert sizes[name] <= limit, (name, sizes[name])
    (artifacts / "first-load-kb.txt").write_text("".join(f"{k}: {v:.1f} KB\n" for k, v in sizes.items()))
