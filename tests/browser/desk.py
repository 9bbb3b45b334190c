"""Signing in at the desk in Chromium, and waiting until the desk can be worked.

A control answers once htmx has wired it up: after the page's load event, and after a swap has
settled. A click in the instant before does nothing, so a test that acts at once would fail only
now and then, on a busy machine."""

from ..factories import PASSWORD

IDLE = "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"


def sign_in(page, server, username="desk", live=True):
    """`live`: wait too for the Socket.IO connection and the refresh of the lists it sets off."""
    page.goto(server.url + "/admin/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():  # the desk's own page, loaded (its scripts have run)
        page.click("button[type=submit]")
    if live:
        page.wait_for_selector('[data-admin][data-connected="1"]')
        settled(page)
    return page


def settled(page):
    """No htmx request on its way and no swap still settling."""
    page.wait_for_function(IDLE)


def open_live(page, url):
    """Go to a desk page with live lists, and return once the refresh its connection sets off has
    landed: a list swapped in under a click or a half-typed field proves less than the test says."""
    page.goto(url)
    page.wait_for_selector('[data-admin][data-connected="1"]')
    settled(page)
    return page
