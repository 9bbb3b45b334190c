"""Personal data lifecycle: the scheduled purge and erasure on request leave no name, phone or
health answer anywhere in the database, and the day's figures unchanged."""

import datetime as dt

import pytest
from sqlalchemy import select

from lobby.domain import privacy_lifecycle, visits
from lobby.domain.errors import Conflict
from lobby.domain.visits import unit_of_work
from lobby.extensions import db
from lobby.models import HealthQuestionnaire, Visit, VisitKind, VisitStatus

from .factories import MORNING, new_client

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
        visit = visits.check_in(session, kind=VisitKind.WALK_IN, client=client, service=clinic.services.peel, now=when)
        session.add(HealthQuestionnaire(visit_id=visit.id, answers={"allergy_detail": answer}, flags=["allergy"],
                                        consent_privacy=True))
        visits.add_note(session, visit, note)
        visits.reassign(session, visit, consultant=clinic.staff.bea, reason=f"{name} asked for Bea", now=when)
        if finish:
            for step in (VisitStatus.CALLED, VisitStatus.WITH_CONSULTANT, VisitStatus.DONE):
                visits.transition(session, visit, step, now=when)
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
        report = privacy_lifecycle.purge(session, now=MORNING)
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
        privacy_lifecycle.purge(session, now=MORNING)
    assert NAME in everything_stored(session) and ANSWER in everything_stored(session)


def test_erasure_on_request(session, clinic):
    client = new_client(session, name=NAME)
    client.phone = PHONE
    visit_for(session, clinic, client, MORNING - dt.timedelta(days=2))
    visit_for(session, clinic, client, MORNING)
    before = figures(session)
    with unit_of_work(session):
        privacy_lifecycle.erase_client(session, client, actor=visits.Actor("admin", clinic.staff.admin.id))
    assert [s for s in SECRETS if s in everything_stored(session)] == []
    assert figures(session) == before


def test_a_client_in_the_building_is_erased_after_the_visit(session, clinic):
    client = new_client(session, name=NAME)
    visit_for(session, clinic, client, MORNING, finish=False)
    with pytest.raises(Conflict):
        with unit_of_work(session):
            privacy_lifecycle.erase_client(session, client)
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
