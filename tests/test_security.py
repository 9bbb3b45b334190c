"""Headers on every surface, bodies and pictures held to sensible sizes, and text stripped of the
characters that hide or reorder what it says."""

import io
import re

import pytest
from PIL import Image

from lobby import create_app
from lobby.config import ConfigError
from lobby.domain.text import clean_name, visible
from lobby.models import Client, Visit

from .test_admin import Staffer
from .test_kiosk import QUESTIONNAIRE, Kiosk, hidden, walk_in_details


@pytest.fixture
def visit(api, frozen_clock):
    return api.post("/api/v1/visits", json={"name": "欧阳娜娜", "phone": "13912345678", "kind": "walk-in"}).get_json()


def surfaces(app, api, visit):
    """One response of each surface: kiosk, board, desk, a visitor's ticket, the API, a static file."""
    desk = Staffer(app, "desk")
    web = app.test_client()
    return {
        "kiosk": web.get("/kiosk/"),
        "board": web.get("/display/"),
        "desk": desk.client.get("/admin/"),
        "visitor": desk.client.get(f"/admin/visits/{visit['id']}"),
        "ticket": web.get(visit["ticket_url"].replace("http://localhost", "")),
        "api": api.get("/api/v1/queue"),
        "login": web.get("/admin/login"),
    }


def test_security_headers_on_every_surface(app, api, visit):
    for name, response in surfaces(app, api, visit).items():
        assert response.status_code == 200, name
        headers = response.headers
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy, name
        assert "object-src 'none'" in policy and "base-uri 'none'" in policy, name
        assert headers["Referrer-Policy"] == "same-origin", name
        assert headers["X-Content-Type-Options"] == "nosniff", name
        if name == "board":
            assert "frame-ancestors 'none'" in policy and "X-Frame-Options" not in headers
        else:
            assert "frame-ancestors 'none'" in policy and headers["X-Frame-Options"] == "DENY", name
        assert "Strict-Transport-Security" not in headers  # development: plain http on the LAN


def test_pages_with_personal_data_are_never_cached(app, api, visit):
    for name, response in surfaces(app, api, visit).items():
        if name != "board":
            assert response.headers["Cache-Control"] == "no-store", name


def test_production_adds_hsts_and_the_board_may_be_framed_by_signage(monkeypatch, tmp_path):
    monkeypatch.setenv("LOBBY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("LOBBY_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "production-secret")
    monkeypatch.setenv("LOBBY_BOARD_FRAME_ANCESTORS", "https://signage.example, http://10.0.0.5:8080")
    app = create_app()
    from lobby.extensions import db

    with app.app_context():
        db.create_all()
    health = app.test_client().get("/healthz")
    assert health.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "frame-ancestors 'none'" in health.headers["Content-Security-Policy"]
    chime = app.test_client().get("/display/chime.wav")
    assert "frame-ancestors https://signage.example http://10.0.0.5:8080" in chime.headers["Content-Security-Policy"]
    monkeypatch.setenv("LOBBY_BOARD_FRAME_ANCESTORS", "*")
    with pytest.raises(ConfigError):
        create_app()


# --- sizes ----------------------------------------------------------------------------------------


def png(width, height) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), 255).save(buffer, format="PNG")
    return buffer.getvalue()


def test_oversize_bodies_are_refused_with_413(app, api, frozen_clock):
    kiosk = Kiosk(app)
    # The multipart body written out by hand: the test client would spool a large upload to a temporary file.
    body = (b'--B\r\nContent-Disposition: form-data; name="frame"; filename="f.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n" + b"\xff" * 5_000_000 + b"\r\n--B--\r\n")
    frame = kiosk.client.post("/kiosk/scan-image", data=body, content_type="multipart/form-data; boundary=B",
                              headers={"HX-Request": "true", "X-CSRFToken": kiosk.csrf})
    assert frame.status_code == 413 and "提交的内容太大" in frame.get_data(as_text=True)
    # Under the site's limit (a CSV import may be 2 MB) but far more than a camera frame.
    body = body.replace(b"\xff" * 5_000_000, b"\xff" * 1_500_000)
    frame = kiosk.client.post("/kiosk/scan-image", data=body, content_type="multipart/form-data; boundary=B",
                              headers={"HX-Request": "true", "X-CSRFToken": kiosk.csrf})
    assert frame.status_code == 413
    big_json = api.post("/api/v1/visits", data=b'{"name": "' + b"x" * 4_000_000 + b'"}',
                        headers={"Content-Type": "application/json"})
    assert big_json.status_code == 413 and big_json.get_json()["error"]["code"] == "upload_too_large"


def test_a_huge_picture_is_refused_before_it_is_decoded(app, api, frozen_clock):
    kiosk = Kiosk(app)
    picture = png(6000, 6000)  # a few kB on the wire, 36 million pixels once decoded
    assert len(picture) < 1_000_000
    response = kiosk.client.post("/kiosk/scan-image", data={"frame": (io.BytesIO(picture), "f.png")},
                                 headers={"HX-Request": "true", "X-CSRFToken": kiosk.csrf})
    assert response.status_code == 413 and "图片太大" in response.get_data(as_text=True)
    ordinary = kiosk.client.post("/kiosk/scan-image", data={"frame": (io.BytesIO(png(640, 480)), "f.png")},
                                 headers={"HX-Request": "true", "X-CSRFToken": kiosk.csrf})
    assert ordinary.status_code == 204  # a camera frame without a code: the camera keeps looking


# --- hidden characters ----------------------------------------------------------------------------------

# NUL itself never gets this far: it is refused with the whole request (test_fuzz.py).
HIDDEN = "\u202e\u2066\u200b\u200f\ufeff\x07\x1b"


@pytest.mark.parametrize("raw,clean", [
    ("王\u202e小美", "王小美"), ("Anna\u200b Smith\x07", "Anna Smith"), ("\x1b[31mred\x1b[0m", "[31mred[0m"),
    ("a\u2066b\u2069c", "abc"), ("  tab\tand\nnewline ", "tab and newline"), ("👩‍⚕️", "👩⚕️"),
])
def test_control_and_bidi_characters_are_stripped(raw, clean):
    assert visible(raw) == clean


def test_a_name_of_hidden_characters_only_is_no_name():
    from lobby.domain.errors import ValidationError

    with pytest.raises(ValidationError) as err:
        clean_name(HIDDEN + "\x00")
    assert err.value.code == "name_required"


def test_hidden_characters_never_reach_the_database(app, api, frozen_clock, query):
    kiosk = Kiosk(app)
    details = walk_in_details(app, name=f"王{HIDDEN}小美", phone="13800138000")
    panel = kiosk.post("/kiosk/details", {"flow": "walk-in", "key": "h1", **details}).get_data(as_text=True)
    kiosk.post("/kiosk/finish", {**hidden(panel), **details, **QUESTIONNAIRE,
                                 "allergy_detail": f"青霉素{HIDDEN}过敏"})
    visit = query(lambda s: s.query(Visit).one())
    Staffer(app, "desk").post(f"/admin/visits/{visit.public_id}/note", {"note": f"VIP\u202e{HIDDEN}客户"})
    api.post(f"/api/v1/visits/{visit.public_id}/reassign", json={"consultant": "bea", "reason": f"换人{HIDDEN}咨询"})
    stored = query(lambda s: (s.query(Client).one().name, s.query(Visit).one().note,
                              s.query(Visit).one().questionnaire.answers["allergy_detail"]))
    assert stored == ("王小美", "VIP客户", "青霉素过敏")


def test_user_text_is_isolated_on_the_desk_so_it_cannot_reorder_the_row(app, api, frozen_clock):
    api.post("/api/v1/visits", json={"name": "Ahmad אבג", "phone": "13912345670", "kind": "walk-in"})
    row = Staffer(app, "desk").get("/admin/").get_data(as_text=True)
    assert re.search(r"<bdi>Ahmad אבג</bdi>", row)
