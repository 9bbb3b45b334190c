"""In real Chromium: a desk button whose answer was lost sends the same idempotency key when tapped
again, so the server answers the first call again instead of calling a second visitor; once an
answer has come, the next tap is a new request."""

from .desk import sign_in
from .test_desk_day import check_in


def consultant_page(browser, server, live=True):
    """Amy's queue in Chromium; `live` False: no Socket.IO, so nothing redraws the list (and its
    button) between two taps."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    if not live:
        context.route_web_socket("**/socket.io/**", lambda socket: None)
    return sign_in(context.new_page(), server, "amy", live=live)


def test_a_tap_again_after_a_lost_answer_calls_one_visitor(api, server, browser, query):
    from sqlalchemy import select

    from lobby.models import Visit, VisitStatus

    check_in(server, api, "13800138001")
    check_in(server, api, "13800138002", name="李四")
    page = consultant_page(browser, server, live=False)
    page.locator('tr[data-ticket="A001"]').wait_for()

    keys, lost = [], []

    def answer_lost_once(route):
        keys.append(route.request.headers.get("idempotency-key"))
        if not lost:
            lost.append(route.fetch().status)  # the server did the call; its answer never arrives
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/admin/call-next", answer_lost_once)
    button = page.get_by_role("button", name="叫我的下一位")
    # (Only the call's own failure: the tap may also cut short a refresh of the list, which fails too.)
    with page.expect_event("requestfailed", lambda request: request.url.endswith("/admin/call-next")):
        button.click()
    assert lost == [200]
    assert page.locator('tr[data-ticket="A001"].row-called').count() == 0  # nothing came back to show it

    with page.expect_response("**/admin/call-next") as answered:
        button.click()  # the same button, tapped again
    assert answered.value.headers.get("idempotent-replayed") == "true"
    page.locator('tr[data-ticket="A001"].row-called').wait_for()
    assert keys[0] and keys[0] == keys[1]
    called = query(lambda s: list(s.scalars(select(Visit.ticket).where(Visit.status == VisitStatus.CALLED))))
    assert called == ["A001"]

    # Answered: the next tap is a new request with a key of its own.
    with page.expect_response("**/admin/call-next"):
        page.get_by_role("button", name="叫我的下一位").click()
    assert len(keys) == 3 and keys[2] != keys[0]


def test_a_repeat_whose_first_answer_was_lost_with_the_server_says_so(api, server, browser, query):
    """The change was saved but its answer never stored (the process died in between): the repeat
    changes nothing more and the desk is told, in its language, to look before trying again."""
    from sqlalchemy import select, update

    from lobby.models import RequestKey, Visit, VisitStatus

    check_in(server, api, "13800138001")
    page = consultant_page(browser, server, live=False)
    page.locator('tr[data-ticket="A001"]').wait_for()

    def answer_lost_with_the_server(route):
        route.fetch()
        query(lambda s: (s.execute(update(RequestKey).values(status=None, body=None, headers=None)), s.commit()))
        route.abort("connectionreset")

    page.route("**/admin/call-next", answer_lost_with_the_server)
    button = page.get_by_role("button", name="叫我的下一位")
    with page.expect_event("requestfailed", lambda request: request.url.endswith("/admin/call-next")):
        button.click()
    page.unroute("**/admin/call-next")
    with page.expect_response("**/admin/call-next") as answered:
        button.click()
    assert answered.value.status == 409
    page.locator("#toast.show", has_text="这个操作已经收到").wait_for()
    assert query(lambda s: list(s.scalars(select(Visit.ticket).where(Visit.status == VisitStatus.CALLED)))) == ["A001"]


def test_the_desk_is_told_when_nobody_is_waiting(api, server, browser):
    page = consultant_page(browser, server)
    with page.expect_response("**/admin/call-next") as answered:
        page.get_by_role("button", name="叫我的下一位").click()
    assert answered.value.status == 409
    page.locator("#queue [data-flash][role=alert]").wait_for()  # the 409's words are swapped in, not dropped
