"""Real headless Chromium (Debian's build) driven by Playwright, against a real server process."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.sqlite_only)


LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def playwright():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


class WatchedBrowser:
    """Chromium whose every page reports what the Content-Security-Policy refused (console errors)."""

    def __init__(self, chromium):
        self._chromium = chromium
        self.violations: list[str] = []

    def watch(self, page):
        page.on("console", self._note)
        return page

    def _note(self, message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.violations.append(f"{message.location.get('url')}: {message.text}")

    def new_page(self, **options):
        return self.watch(self._chromium.new_page(**options))

    def new_context(self, **options):
        context = self._chromium.new_context(**options)
        context.on("page", self.watch)
        return context

    def __getattr__(self, name):
        return getattr(self._chromium, name)


@pytest.fixture(scope="session")
def watched_browser(playwright):
    chromium = playwright.chromium.launch(executable_path=CHROMIUM,
                                          args=LAUNCH_ARGS + ["--autoplay-policy=no-user-gesture-required"])
    yield WatchedBrowser(chromium)
    chromium.close()


@pytest.fixture
def browser(watched_browser):
    """Every browser test also checks that the pages pass the Content-Security-Policy."""
    watched_browser.violations.clear()
    yield watched_browser
    assert watched_browser.violations == [], "the Content-Security-Policy refused something"


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def server(api, app, tmp_path, query):
    """The real server process over the test clinic's database, open around the clock."""
    from lobby.models import ClinicSettings

    from ..serverproc import ServerProcess

    def always_open(session):
        session.query(ClinicSettings).one().open_all_day = True  # the server runs on the real clock
        session.commit()

    query(always_open)
    env = {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": app.config["SECRET_KEY"],
           "LOBBY_INSTANCE_PATH": str(tmp_path / "instance")}
    with ServerProcess(env) as running:
        yield running
