"""Personal data lifecycle: the scheduled purge and erasure on request leave no name, phone or
health answer anywhere in the database, and the day's figures unchanged."""

import datetime as dt

import pytest
from sqlalchemy import select

from lobby.database import unit_of_work
from lobby.domain import audit, checkin, privacy_lifecycle, visits
from lobby.domain.errors import Conflict
from lobby.extensions import db
from lobby.models import HealthQuestionnaire, Visit, VisitKind, VisitStatus

from .factories import ACTOR, MORNING, new_client

NAME, PHONE, ANSWER, NOTE = "欧阳娜娜", "+8613912345678", "penicillin-anaphylaxis-7731", "prefers-evening-9913"
SECRETS = (NAME, PHONE, PHONE[3:], ANSWER, NOTE)


def everything_stored(session) -> str:
    """Every value of every row of every table, as text."""
    chunks = []
    for table in db.metadata.sorted_tables:
        for row in session.execute(select(table)).all():
            chunks.append(repr(tuple(row)))
    return "\n".join(chunks)


def visit_for(session, clinic, client, when, finish=True, secrets=(ANSWER, NOTE, NAME)):
    answer, note, name = secrets
    with unit_of_work(session):
        visit = checkin.check_in(session, kind=VisitKind.WALK_IN, client=client, service=clinic.services.peel, now=when, actor=ACTOR)
        session.add(HealthQuestionnaire(visit_id=visit.id, answers={"allergy_detail": answer}, flags=["allergy"],
                                        consent_privacy=True))
        visits.add_note(session, visit, note, actor=ACTOR)
        # (A second visit already goes to Bea, her own consultant since the first: then to Amy.)
        other = clinic.staff.amy if visit.consultant == clinic.staff.bea else clinic.staff.bea
        visits.reassign(session, visit, consultant=other, reason=f"{name} asked for someone else", now=when,
                        actor=ACTOR)
        if finish:
            for step in (VisitStatus.CALLED, VisitStatus.WITH_CONSULTANT, VisitStatus.DONE):
                visits.transition(session, visit, step, now=when, actor=ACTOR)
    return visit


def figures(session):
    return sorted((v.clinic_day, v.kind.value, v.line_id, v.consultant_id, v.status.value)
                  for v in session.scalars(select(Visit)))


def test_the_purge_forgets_old_personal_data_and_keeps_the_figures(session, clinic):
    long_ago = MORNING - dt.timedelta(days=400)
    old = new_client(session, name=NAME, gender="female", birth_year=1990)
    old.phone = PHONE
    visit_for(session, clinic, old, long_ago)
    recent = new_client(session, name="李雪")
    visit_for(session, clinic, recent, MORNING - dt.timedelta(days=3), secrets=("latex-recent", "note-recent", "李雪"))
    before = figures(session)
    assert all(secret in everything_stored(session) for secret in SECRETS)

    with unit_of_work(session):
        report = privacy_lifecycle.purge(session, now=MORNING, actor=ACTOR)
    assert (report.clients, report.questionnaires) == (1, 1)
    stored = everything_stored(session)
    assert [s for s in SECRETS if s in stored] == []
    assert "李雪" in stored and "latex-recent" in stored  # within the retention period
    assert figures(session) == before
    assert session.get(type(old), old.id).birth_year == 1990  # anonymous facts stay for the figures


def test_the_purge_never_touches_a_visitor_still_in_the_building(session, clinic):
    old = new_client(session, name=NAME)
    old.phone = PHONE
    visit_for(session, clinic, old, MORNING - dt.timedelta(days=400), finish=False)  # still waiting, somehow
    with unit_of_work(session):
        privacy_lifecycle.purge(session, now=MORNING, actor=ACTOR)
    assert NAME in everything_stored(session) and ANSWER in everything_stored(session)


def test_erasure_on_request(session, clinic):
    client = new_client(session, name=NAME)
    client.phone = PHONE
    visit_for(session, clinic, client, MORNING - dt.timedelta(days=2))
    visit_for(session, clinic, client, MORNING)
    before = figures(session)
    with unit_of_work(session):
        privacy_lifecycle.erase_client(session, client, actor=audit.Actor("admin", clinic.staff.admin.id))
    assert [s for s in SECRETS if s in everything_stored(session)] == []
    assert figures(session) == before


def test_a_client_in_the_building_is_erased_after_the_visit(session, clinic):
    client = new_client(session, name=NAME)
    visit_for(session, clinic, client, MORNING, finish=False)
    with pytest.raises(Conflict):
        with unit_of_work(session):
            privacy_lifecycle.erase_client(session, client, actor=ACTOR)
    assert NAME in everything_stored(session)


def test_the_purge_command(app, clinic):
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0 and "purged before" in result.output


def test_logs_never_carry_phone_numbers_or_answers(api, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    response = api.post("/api/v1/visits", json={"name": NAME, "phone": PHONE, "kind": "walk-in", "service": "peel"})
    assert response.status_code == 201
    api.post(f"/api/v1/visits/{response.get_json()['id']}/transition", json={"to": "called"})
    api.post("/api/v1/visits", json={"name": NAME, "phone": "12", "kind": "walk-in"})  # a refused one too
    assert caplog.records  # the realtime layer did log its work
    assert not [s for s in (NAME, PHONE, PHONE[3:]) if s in caplog.text]


def database_files(app) -> bytes:
    """The bytes of the SQLite database and its write-ahead log, as a disk thief would read them."""
    from pathlib import Path

    path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


@pytest.mark.sqlite_only
def test_erased_data_does_not_survive_in_the_database_files(app, api, frozen_clock):
    from .test_admin import Staffer

    marker = "erase-me-9f3c1a"
    response = api.post("/api/v1/visits", json={"name": f"Zhao {marker}", "phone": PHONE, "kind": "walk-in"})
    visit_id = response.get_json()["id"]
    desk = Staffer(app, "admin")
    desk.post(f"/admin/visits/{visit_id}/note", {"note": f"note {marker}"})
    desk.post(f"/admin/visits/{visit_id}/questionnaire", {"pregnancy": "no", "smoking": "no", "consent_privacy": "1",
                                                          "allergy_detail": f"allergy {marker}"})
    for step in ("called", "with_consultant", "done"):
        api.post(f"/api/v1/visits/{visit_id}/transition", json={"to": step})
    # Others' rows after hers on the same pages: what is erased sits among what stays.
    for n in range(3):
        other = api.post("/api/v1/visits", json={"name": f"Other {n}", "phone": f"1391234560{n}", "kind": "walk-in"})
        desk.post(f"/admin/visits/{other.get_json()['id']}/questionnaire",
                  {"pregnancy": "no", "smoking": "no", "consent_privacy": "1", "allergy_detail": f"other {n}"})
    with app.app_context():
        db.session.execute(db.text("PRAGMA wal_checkpoint(TRUNCATE)"))  # into the main file, as days go by
        client_id = db.session.scalars(select(Visit.client_id)).first()
        public_id = db.session.get(type(db.session.get(Visit, 1).client), client_id).public_id
    assert marker.encode() in database_files(app)

    page = desk.client.get(f"/admin/visits/{visit_id}").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    erased = desk.client.post(f"/admin/clients/{public_id}/erase", data={"csrf_token": token})
    assert erased.status_code == 200
    assert marker.encode() not in database_files(app)
