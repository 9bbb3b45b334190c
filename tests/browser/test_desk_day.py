"""A receptionist's working day in real Chromium: live updates never destroy work."""

from .desk import open_live
from .test_admin import log_in
from .test_board import api_post


def check_in(server, api, phone, name="张三华", service="peel"):
    return api_post(server, api.key, "/api/v1/visits", {"name": name, "phone": phone, "kind": "walk-in",
                                                        "service": service})


def test_a_live_update_waits_while_the_receptionist_types_in_a_popover(api, server, browser, artifacts):
    check_in(server, api, "13800138001")
    desk = log_in(browser, server)
    row = desk.locator('tr[data-ticket="A001"]')
    row.wait_for()
    row.locator("summary", has_text="改派").click()
    reason = row.locator("input[name=reason]")
    reason.fill("客户希望换一位")
    row.locator("select[name=to_consultant]").select_option(label="Bea · 空闲")
    reason.click()
    desk.keyboard.type("咨询师")

    # A check-in elsewhere: the list's refresh arrives while the popover is open and text is typed.
    check_in(server, api, "13800138002", name="李四")
    desk.locator("#queue[data-stale]").wait_for()  # the refresh came, and waits
    assert desk.locator('tr[data-ticket="A002"]').count() == 0
    assert reason.input_value() == "客户希望换一位咨询师"
    assert reason.evaluate("el => el === document.activeElement")
    assert row.locator("details.reassign").evaluate("el => el.open")
    assert row.locator("select[name=to_consultant] option:checked").inner_text().startswith("Bea")
    desk.locator("#queue .count.paused").wait_for(state="visible")
    desk.screenshot(path=str(artifacts / "admin-refresh-waits-while-typing.png"))

    # Done with the popover (Esc): the waiting refresh comes in at once.
    desk.keyboard.press("Escape")
    desk.locator('tr[data-ticket="A002"]').wait_for()
    assert desk.locator("#queue[data-stale]").count() == 0


def test_a_half_typed_booking_survives_check_ins(api, server, browser):
    desk = log_in(browser, server)
    open_live(desk, server.url + "/admin/appointments")
    desk.locator("summary", has_text="预约").first.click()
    desk.fill("#appointments input[name=name]", "王小美")
    desk.fill("#appointments input[name=phone]", "1390013")
    check_in(server, api, "13800138003")
    desk.locator("#appointments[data-stale]").wait_for()
    assert desk.input_value("#appointments input[name=name]") == "王小美"
    assert desk.input_value("#appointments input[name=phone]") == "1390013"
    assert desk.locator("#appointments details.panel").first.evaluate("el => el.open")


def test_slash_searches_the_list_and_a_live_update_keeps_the_search(api, server, browser, artifacts):
    for phone, name in (("13800131234", "张三华"), ("13900135678", "李四娟"), ("13700139012", "王五")):
        check_in(server, api, phone, name=name)
    desk = log_in(browser, server)
    desk.locator('tr[data-ticket="A003"]').wait_for()
    desk.keyboard.press("/")
    search = desk.locator("#queue-search")
    assert search.evaluate("el => el === document.activeElement")
    desk.keyboard.type("9012")  # the last digits of 王五's phone
    desk.locator('tr[data-ticket="A002"]').wait_for(state="detached")
    assert [t.split()[0] for t in desk.locator("tr[data-ticket]").all_inner_texts()] == ["A003"]

    # A check-in elsewhere refreshes the list while the search box has the focus: the new visitor
    # comes in (they match), and the box keeps its text and focus for the next keystroke.
    desk.fill("#queue-search", "王")
    desk.locator('tr[data-ticket="A001"]').wait_for(state="detached")
    check_in(server, api, "13600130000", name="王小明")
    desk.locator('tr[data-ticket="A004"]').wait_for()
    assert search.input_value() == "王"
    assert search.evaluate("el => el === document.activeElement")
    desk.keyboard.type("小")
    desk.locator('tr[data-ticket="A003"]').wait_for(state="detached")
    assert [t.split()[0] for t in desk.locator("tr[data-ticket]").all_inner_texts()] == ["A004"]
    assert search.input_value() == "王小"

    desk.fill("#queue-search", "")
    desk.select_option("select[name=group]", "consultant")
    desk.locator("tr[data-group]").first.wait_for()
    desk.screenshot(path=str(artifacts / "admin-grouped-by-consultant.png"), full_page=True)


def test_reassigning_keeps_the_filter_and_says_what_happened(api, server, browser):
    for phone, name, who in (("13800131111", "张三华", "amy"), ("13800132222", "李四娟", "amy"),
                             ("13800133333", "王五", "bea")):
        api_post(server, api.key, "/api/v1/visits", {"name": name, "phone": phone, "kind": "walk-in",
                                                     "service": "peel", "consultant": who})
    desk = log_in(browser, server)
    desk.locator('tr[data-ticket="A003"]').wait_for()
    desk.select_option("#queue-filters select[name=consultant]", label="Amy")
    desk.locator('tr[data-ticket="A003"]').wait_for(state="detached")  # Bea's visitor left the view
    row = desk.locator('tr[data-ticket="A001"]')
    row.locator("summary", has_text="改派").click()
    row.locator("select[name=to_consultant]").select_option(label="Bea · 空闲")
    row.locator("input[name=reason]").fill("客户希望换一位咨询师")
    row.get_by_role("button", name="改派").click()
    desk.locator("#toast", has_text="A001 → Bea").wait_for()
    assert desk.locator("#queue-filters select[name=consultant] option:checked").inner_text() == "Amy"
    assert [t.split()[0] for t in desk.locator("tr[data-ticket]").all_inner_texts()] == ["A002"]


def test_a_filter_changed_the_instant_a_live_refresh_lands_still_filters(api, server, browser):
    """What htmx swaps in answers at once (defaultSettleDelay 0): by default it was wired up 20 ms
    later, and a filter changed in between did nothing until the next refresh."""
    for phone, who in (("13800131111", "amy"), ("13800132222", "bea"), ("13800133333", "amy")):
        api_post(server, api.key, "/api/v1/visits", {"name": "张三华", "phone": phone, "kind": "walk-in",
                                                     "service": "peel", "consultant": who})
    desk = log_in(browser, server)
    desk.locator('tr[data-ticket="A003"]').wait_for()
    # The moment the refreshed list is in the page, before anything else runs, choose Amy on its filter.
    desk.evaluate("""() => {
        const before = document.getElementById("queue");
        new MutationObserver((changes, observer) => {
            const select = document.querySelector("#queue-filters select[name=consultant]");
            if (document.getElementById("queue") === before || !select) return;
            observer.disconnect();
            select.value = [...select.options].find((option) => option.textContent.trim() === "Amy").value;
            select.dispatchEvent(new Event("change", {bubbles: true}));
            window.filteredOnArrival = true;
        }).observe(document.body, {childList: true, subtree: true});
    }""")
    api_post(server, api.key, "/api/v1/visits", {"name": "王五", "phone": "13800134444", "kind": "walk-in",
                                                 "service": "peel", "consultant": "bea"})
    desk.wait_for_function("() => window.filteredOnArrival === true")
    desk.locator('tr[data-ticket="A002"]').wait_for(state="detached", timeout=10_000)  # Bea's left the view
    assert [t.split()[0] for t in desk.locator("tr[data-ticket]").all_inner_texts()] == ["A001", "A003"]


def test_the_search_finds_by_ticket_name_phone_digits_and_consultant(api, server, browser):
    for phone, name, who in (("13800131111", "张三华", "amy"), ("13800132222", "李四娟", "bea"),
                             ("13800133333", "王五", "amy")):
        api_post(server, api.key, "/api/v1/visits", {"name": name, "phone": phone, "kind": "walk-in",
                                                     "service": "peel", "consultant": who})
    desk = log_in(browser, server)
    desk.locator('tr[data-ticket="A003"]').wait_for()
    for term, expected in (("A002", ["A002"]), ("王五", ["A003"]), ("1111", ["A001"]), ("Bea", ["A002"])):
        desk.fill("#queue-search", term)
        desk.wait_for_function("(want) => JSON.stringify(Array.from(document.querySelectorAll('tr[data-ticket]'), "
                               "(r) => r.dataset.ticket)) === JSON.stringify(want)", arg=expected)


def test_the_desk_finds_an_arrival_and_checks_in_their_booking(app, api, server, browser, artifacts):
    import datetime as dt

    from lobby.domain.clock import utcnow

    starts = (utcnow() + dt.timedelta(minutes=30)).isoformat()
    booked = api.post("/api/v1/appointments", json={"name": "王小美", "phone": "13800131234", "service": "peel",
                                                    "starts_at": starts}).get_json()
    other = api.post("/api/v1/appointments", json={"name": "李雪", "phone": "13900135678", "service": "peel",
                                                   "starts_at": starts}).get_json()
    desk = log_in(browser, server)
    open_live(desk, server.url + "/admin/appointments")
    desk.locator(f'tr[data-code="{other["code"]}"]').wait_for()
    desk.fill("#appointment-search", "1234")
    desk.locator(f'tr[data-code="{other["code"]}"]').wait_for(state="detached")  # found: only her
    row = desk.locator(f'tr[data-code="{booked["code"]}"]')
    row.get_by_role("button", name="签到").click()
    desk.locator("#toast", has_text="王小美 已签到").wait_for()
    row.locator(".appt-status-checked_in").wait_for()
    assert desk.input_value("#appointment-search") == "1234"  # the look-up box is kept
    desk.screenshot(path=str(artifacts / "admin-appointment-checked-in.png"), full_page=True)
    open_live(desk, server.url + "/admin/")
    desk.locator("tr[data-ticket]", has_text="王小美").wait_for()


def test_a_live_update_keeps_the_receptionists_place_in_a_long_list(api, server, browser):
    for i in range(30):
        check_in(server, api, f"138001310{i:02d}", name=f"客户{i:02d}")
    desk = log_in(browser, server)
    desk.locator('tr[data-ticket="A030"]').wait_for()
    desk.wait_for_function("() => !document.querySelector('.htmx-request')")  # the refresh on connecting is in
    desk.evaluate("() => document.querySelector('tr[data-ticket=\"A015\"]').scrollIntoView()")
    before = desk.evaluate("() => [window.scrollY, document.querySelector('tr[data-ticket=\"A015\"]')"
                           ".getBoundingClientRect().top]")
    assert before[0] > 300  # well down the list
    check_in(server, api, "13800139999", name="新来的")
    desk.locator('tr[data-ticket="A031"]').wait_for(state="attached")
    after = desk.evaluate("() => [window.scrollY, document.querySelector('tr[data-ticket=\"A015\"]')"
                          ".getBoundingClientRect().top]")
    assert abs(after[0] - before[0]) <= 2 and abs(after[1] - before[1]) <= 2

