"""The front desk in real Chromium: a kiosk check-in appears without reloading; the desk reassigns
and calls it; a board in another browser context shows the call."""



from .desk import open_live, sign_in


def log_in(browser, server, username="desk"):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    return sign_in(context.new_page(), server, username)


def kiosk_walk_in(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.goto(server.url + "/kiosk/")
    page.get_by_role("button", name="现场咨询").click()
    page.fill("input[name=name]", "欧阳娜娜")
    page.fill("input[name=phone]", "13900139000")
    page.locator("label.chip", has_text="女").first.click()
    page.fill("input[name=birth_year]", "1990")
    page.locator("label.chip", has_text="果酸焕肤").click()
    page.get_by_role("button", name="下一步").click()
    page.locator("label.chip", has_text="乳胶").click()
    page.locator("label.chip:has(input[name=pregnancy][value=no])").click()
    page.locator("label.chip:has(input[name=smoking][value=no])").click()
    page.locator("input[name=consent_privacy]").check()
    page.get_by_role("button", name="领取号码").click()
    page.wait_for_selector(".slip-number")
    context.close()


def test_desk_sees_a_kiosk_check_in_live_reassigns_and_calls_it(server, browser, artifacts):
    desk = log_in(browser, server)
    board = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    board.goto(server.url + "/display/")
    board.wait_for_selector('[data-board][data-connected="1"]')
    assert desk.locator("tr[data-ticket]").count() == 0

    kiosk_walk_in(browser, server)
    row = desk.locator('tr[data-ticket="A001"]')
    row.wait_for(timeout=10_000)  # no reload: the /admin ping made the list re-fetch itself
    assert "欧阳娜娜" in row.inner_text() and "过敏" in row.inner_text()
    desk.screenshot(path=str(artifacts / "admin-waiting-list.png"), full_page=True)

    row.locator("summary", has_text="改派").click()
    row.locator("select[name=to_consultant]").select_option(label="Bea · 空闲")
    row.locator("input[name=reason]").fill("客户希望换一位咨询师")
    row.get_by_role("button", name="改派").click()
    # The desk is told what happened; the row's consultant is Bea once the answer is in.
    desk.locator("#toast", has_text="A001 → Bea").wait_for()
    assert "Bea" in desk.locator('tr[data-ticket="A001"] td').nth(3).inner_text()

    desk.locator('tr[data-ticket="A001"]').get_by_role("button", name="叫号").click()
    board.locator('.call-latest[data-ticket="A001"]').wait_for(timeout=10_000)
    assert "2 号咨询室" in board.locator(".call-latest").inner_text()  # Bea's room
    desk.locator('tr[data-ticket="A001"] .status-called').wait_for()

    open_live(desk, server.url + "/admin/rotation")
    desk.wait_for_selector("#rotation")
    desk.screenshot(path=str(artifacts / "admin-rotation-board.png"), full_page=True)


def test_screens_of_the_desk(api, server, browser, artifacts):
    for minute, phone in ((0, "13800138001"), (30, "13800138002")):
        api.post("/api/v1/appointments", json={"name": "王小美", "phone": phone, "service": "peel",
                                               "starts_at": f"2099-01-01T10:{minute:02d}:00+08:00"})
    kiosk_walk_in(browser, server)
    desk = log_in(browser, server)
    desk.goto(server.url + "/admin/appointments?date=2099-01-01")
    desk.wait_for_selector("tr[data-code]")
    desk.screenshot(path=str(artifacts / "admin-appointments.png"), full_page=True)
    open_live(desk, server.url + "/admin/")
    # Open the visitor by the row's link (a live refresh landing at the moment of a click can swallow it:
    # the desk's live-update work belongs to another issue; this test is about the detail page).
    desk.goto(server.url + desk.locator('tr[data-ticket="A001"] .visitor a').get_attribute("href"))
    desk.get_by_role("button", name="查看答案").click()
    desk.wait_for_selector("dl.answers")
    assert "乳胶" in desk.inner_text("dl.answers")
    desk.screenshot(path=str(artifacts / "admin-visitor-detail.png"), full_page=True)


def test_the_reports_page_with_its_charts(api, server, browser, artifacts):
    kiosk_walk_in(browser, server)
    desk = log_in(browser, server)
    desk.goto(server.url + "/admin/reports")
    desk.wait_for_selector("progress.bar")
    assert desk.locator(".bar-row").count() >= 4
    desk.screenshot(path=str(artifacts / "admin-reports.png"), full_page=True)


def test_the_settings_page(api, server, browser, artifacts):
    admin = log_in(browser, server, "admin")
    admin.goto(server.url + "/admin/settings")
    admin.wait_for_selector("input[name=long_wait_minutes]")
    admin.screenshot(path=str(artifacts / "admin-settings-clinic.png"), full_page=True)
    admin.goto(server.url + "/admin/settings?section=staff")
    admin.wait_for_selector("input[name=display_name]")
    admin.screenshot(path=str(artifacts / "admin-settings-staff.png"), full_page=True)
