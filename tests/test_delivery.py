"""What the screens download: compressed pages and scripts, only the scripts a page uses, a small
chime, and a heading on every public screen."""

import gzip
import re


def test_pages_scripts_and_json_go_out_compressed(app, api, client):
    walk_in = api.post("/api/v1/visits", json={"name": "张三华", "phone": "13800138001", "kind": "walk-in",
                                               "service": "peel"}).get_json()
    gz = {"Accept-Encoding": "gzip"}
    for path in ("/display/", "/static/vendor/htmx.min.js", "/static/css/lobby.css", walk_in["ticket_url"]):
        response = client.get(path, headers=gz)
        assert response.headers.get("Content-Encoding") == "gzip", path
        assert len(gzip.decompress(response.data)) > len(response.data)
    plain = client.get("/display/")
    assert "Content-Encoding" not in plain.headers and "<html" in plain.get_data(as_text=True)


def test_the_board_and_the_phone_page_load_no_htmx_the_kiosk_does(app, api, client):
    walk_in = api.post("/api/v1/visits", json={"name": "张三华", "phone": "13800138001", "kind": "walk-in",
                                               "service": "peel"}).get_json()
    assert "htmx.min.js" not in client.get("/display/").get_data(as_text=True)
    assert "htmx.min.js" not in client.get(walk_in["ticket_url"]).get_data(as_text=True)
    with app.app_context():
        from lobby.extensions import db
        from lobby.models import ClinicSettings
        db.session.query(ClinicSettings).one().open_all_day = True
        db.session.commit()
    assert "htmx.min.js" in client.get("/kiosk/").get_data(as_text=True)


def test_the_board_plays_a_small_mp3_chime(client):
    board = client.get("/display/").get_data(as_text=True)
    assert 'data-chime="/display/chime.mp3"' in board
    mp3 = client.get("/display/chime.mp3")
    wav = client.get("/display/chime.wav")
    assert mp3.status_code == 200 and mp3.mimetype == "audio/mpeg"
    assert mp3.data[:3] == b"ID3" or (mp3.data[0] == 0xFF and mp3.data[1] & 0xE0 == 0xE0)  # an MP3 frame
    assert len(mp3.data) * 4 < len(wav.data)  # 2.2 s at 64 kbit/s: under a quarter of the WAV


def test_every_public_screen_has_one_heading(app, api, client):
    walk_in = api.post("/api/v1/visits", json={"name": "张三华", "phone": "13800138001", "kind": "walk-in",
                                               "service": "peel"}).get_json()
    for path in ("/display/", walk_in["ticket_url"]):
        assert len(re.findall(r"<h1[ >]", client.get(path).get_data(as_text=True))) == 1, path
