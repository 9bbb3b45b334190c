"""Every user-visible string is in the catalogs, and zh_CN and en are complete."""

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "lobby" / "translations"


def catalog(locale):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale="en" if locale == "en" else "zh_Hans_CN")


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_catalog_is_complete(locale):
    untranslated = [m.id for m in catalog(locale) if m.id and (not m.string or m.fuzzy)]
    assert untranslated == []


@pytest.mark.sqlite_only
def test_catalogs_hold_every_string_in_the_code(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-o", str(pot), "lobby", "kiosk", "display", "admin", "templates"],
                   cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    for locale in ("zh_CN", "en"):
        have = {m.id for m in catalog(locale) if m.id}
        assert wanted - have == set(), f"{locale} lacks strings: run `make catalogs` and translate"


def test_pages_render_in_both_languages(client, app, frozen_clock):
    """(On the frozen clock: the kiosk greets only while the clinic is open.)"""
    from lobby.extensions import db

    with app.app_context():
        db.create_all()
    zh = client.get("/kiosk/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    en = client.get("/kiosk/", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    assert "欢迎光临" in zh and "Welcome" in en
    chosen = client.get("/lang/en?next=/kiosk/", headers={"Accept-Language": "zh-CN"})
    assert chosen.status_code == 302
    assert "Welcome" in client.get("/kiosk/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)


def test_language_switch_never_redirects_off_site(client):
    for target in ("https://evil.example/", "//evil.example/"):
        response = client.get(f"/lang/en?next={target}")
        assert response.headers["Location"].endswith("/kiosk/")
