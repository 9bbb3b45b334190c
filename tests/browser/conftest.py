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


@pytest.fixture(scope="session")
def browser(playwright):
    chromium = playwright.chromium.launch(executable_path=CHROMIUM,
                                          args=LAUNCH_ARGS + ["--autoplay-policy=no-user-gesture-required"])
    yield chromium
    chromium.close()


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
