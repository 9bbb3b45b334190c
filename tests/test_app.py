"""Configuration, /healthz, and the small helpers every surface uses."""

import datetime as dt

import pytest

from lobby import create_app
from lobby.config import ConfigError
from lobby.domain import checkin
from lobby.domain.errors import ValidationError
from lobby.domain.phone import masked_phone, normalise_phone
from lobby.presenters import mask_name

from .factories import ACTOR


def test_healthz_answers_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"
    # One process, no REDIS_URL: no message queue to depend on.
    assert response.get_json()["message_queue"] == "off"


def test_healthz_answers_503_when_the_database_does_not(tmp_path, monkeypatch):
    monkeypatch.setenv("LOBBY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    app = create_app({"TESTING": True})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"
    assert response.get_json()["database"] == "unreachable"


def test_production_refuses_to_start_without_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("LOBBY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("LOBBY_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app()
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_development_keeps_one_generated_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("LOBBY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("LOBBY_ENV", raising=False)
    first, second = create_app(), create_app()
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_a_wildcard_origin_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("LOBBY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("LOBBY_CORS_ORIGINS", "https://clinic.example, *")
    with pytest.raises(ConfigError):
        create_app()


@pytest.mark.parametrize("raw,expected", [
    ("13812345678", "+8613812345678"),
    ("138 1234 5678", "+8613812345678"),
    ("+86 138-1234-5678", "+8613812345678"),
    ("008613812345678", "+8613812345678"),
    ("+44 7911 123456", "+447911123456"),
    ("+1 415 555 2671", "+14155552671"),
])
def test_phone_numbers_are_normalised(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "12345", "abc", "1381234567", "+86 10 1234 5678", "138123456789"])
def test_bad_phone_numbers_are_refused(raw):
    with pytest.raises(ValidationError):
        normalise_phone(raw)


def test_masking():
    assert mask_name("张三华") == "张*华"
    assert mask_name("欧阳娜娜") == "欧*娜"
    assert mask_name("张三") == "张*"
    assert mask_name("Anna Smith") == "A********h"
    assert mask_name("") == ""
    assert masked_phone("+8613812345678") == "138****5678"


def test_timestamps_round_trip_as_aware_utc(session, clinic):
    from lobby.database import unit_of_work
    from lobby.models import VisitKind

    moment = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with unit_of_work(session):
        visit = checkin.check_in(session, kind=VisitKind.WALK_IN, line=clinic.lines.skin, now=moment, actor=ACTOR)
    session.expire_all()
    assert visit.checked_in_at == moment
    assert visit.checked_in_at.tzinfo is not None


def test_the_deployment_time_zone_belongs_to_its_app(tmp_path, monkeypatch):
    """LOBBY_TIMEZONE sets the clinic's day for its own app only (nothing process-wide), and the
    clinic's settings, when they name a zone, win."""
    import datetime as dt

    from lobby.domain.settings import clinic_day, clinic_zone, get_settings
    from lobby.extensions import db

    def app_in(zone, name):
        monkeypatch.setenv("LOBBY_INSTANCE_PATH", str(tmp_path / name))
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / name}.db")
        monkeypatch.setenv("SECRET_KEY", "x")
        monkeypatch.setenv("LOBBY_TIMEZONE", zone)
        made = create_app()
        with made.app_context():
            db.create_all()
        return made

    shanghai, london = app_in("Asia/Shanghai", "sh"), app_in("Europe/London", "ldn")
    evening = dt.datetime(2026, 3, 10, 20, 0, tzinfo=dt.timezone.utc)  # 04:00 next day in Shanghai
    with shanghai.app_context():
        assert str(clinic_zone(db.session)) == "Asia/Shanghai"
        assert clinic_day(db.session, evening) == dt.date(2026, 3, 11)
    with london.app_context():
        assert clinic_day(db.session, evening) == dt.date(2026, 3, 10)
        settings = get_settings(db.session)
        settings.timezone = "Asia/Tokyo"
        db.session.add(settings)
        db.session.commit()
        assert str(clinic_zone(db.session)) == "Asia/Tokyo"
    with shanghai.app_context():  # the other app is untouched
        assert str(clinic_zone(db.session)) == "Asia/Shanghai"
    for made in (shanghai, london):
        with made.app_context():
            db.engine.dispose()


def test_every_page_wires_up_what_htmx_swaps_in_the_moment_it_shows(app, api, frozen_clock):
    """htmx's default settle delay left a swapped-in button dead for 20 ms (a tap lost, a kiosk form
    sent as a plain page request); tests/browser/test_desk_day.py shows the tap that needs it."""
    import json
    import re

    from .test_kiosk import Kiosk
    from .test_realtime import login

    desk, _ = login(app)
    pages = {"kiosk": Kiosk(app).client.get("/kiosk/"), "desk": desk.get("/admin/"),
             "login": app.test_client().get("/admin/login")}
    for name, page in pages.items():
        config = re.search(r"""<meta name="htmx-config" content='([^']*)'>""", page.get_data(as_text=True))
        assert config is not None, name
        assert json.loads(config.group(1))["defaultSettleDelay"] == 0, name
