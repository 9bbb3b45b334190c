"""Command line: create-staff, create-api-key, seed-demo."""

from sqlalchemy import select

from lobby.api.keys import key_for
from lobby.extensions import db
from lobby.models import Appointment, Line, Role, Service, Staff, Visit


def test_create_staff_then_login_works(app, client):
    with app.app_context():
        db.create_all()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-staff", "--username", "mei", "--password", "s3cret-pass", "--role",
                                 "frontdesk"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        staff = db.session.scalars(select(Staff).where(Staff.username == "mei")).one()
        assert staff.role == Role.FRONTDESK and staff.check_password("s3cret-pass")
        assert "s3cret-pass" not in staff.password_hash


def test_create_staff_refuses_bad_role_and_short_password(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["create-staff", "--username", "x", "--password", "longenough",
                               "--role", "boss"]).exit_code != 0
    assert runner.invoke(args=["create-staff", "--username", "x", "--password", "short",
                               "--role", "admin"]).exit_code != 0


def test_create_api_key_prints_a_key_that_is_stored_hashed(app):
    result = app.test_cli_runner().invoke(args=["create-api-key", "--name", "crm"])
    assert result.exit_code == 0
    plain = result.output.strip()
    with app.app_context():
        key = key_for(db.session, plain)
        assert key is not None and key.name == "crm"
        assert plain not in key.key_hash


def test_seed_demo_makes_a_believable_clinic_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert "password:" in first.output
    with app.app_context():
        assert db.session.query(Line).count() == 3
        assert db.session.query(Service).count() >= 10
        assert db.session.query(Staff).filter(Staff.role == Role.CONSULTANT).count() == 6
        assert db.session.query(Appointment).count() == 20
        assert db.session.query(Visit).count() >= 3
        services = db.session.scalars(select(Service)).all()
        assert all(s.name_zh and s.name_en for s in services)
    second = runner.invoke(args=["seed-demo", "--if-empty"])
    assert second.exit_code == 0 and "already" in second.output
    with app.app_context():
        assert db.session.query(Appointment).count() == 20


def test_demo_passwords_are_never_the_same_twice(app, tmp_path):
    outputs = []
    for _ in range(2):
        with app.app_context():
            db.drop_all()
            db.create_all()
        outputs.append(app.test_cli_runner().invoke(args=["seed-demo"]).output)
    passwords = [o.split("password:")[1].strip() for o in outputs]
    assert passwords[0] != passwords[1] and len(passwords[0]) >= 10
