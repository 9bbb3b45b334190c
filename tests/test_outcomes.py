"""After the consultation: the outcome recorded at finish, and who is due a call on which day."""

import pytest

from lobby.models import AuditEntry, HealthQuestionnaire, Visit

WALK_IN = {"name": "李雪", "phone": "13900139000", "kind": "walk-in", "service": "peel", "consultant": "bea"}


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    return frozen_clock


def in_consultation(api, **change):
    visit = api.post("/api/v1/visits", json={**WALK_IN, **change}).get_json()
    path = f"/api/v1/visits/{visit['id']}/transition"
    for target in ("called", "with_consultant"):
        assert api.post(path, json={"to": target}).status_code == 200
    return visit, path


def agreed_to_contact(query, visit, agreed=True):
    def answer(session):
        stored = session.query(Visit).filter_by(public_id=visit["id"]).one()
        session.add(HealthQuestionnaire(visit_id=stored.id, answers={}, flags=[], consent_privacy=True,
                                        consent_contact=agreed))
        session.commit()
    query(answer)


def test_the_outcome_and_next_contact_are_recorded_at_finish(api, query):
    visit, path = in_consultation(api)
    done = api.post(path, json={"to": "done", "outcome": "thinking", "next_contact": "2026-03-13"})
    assert done.status_code == 200
    body = done.get_json()
    assert (body["status"], body["outcome"], body["next_contact"]) == ("done", "thinking", "2026-03-13")
    assert api.get(f"/api/v1/visits/{visit['id']}").get_json()["outcome"] == "thinking"
    entry = query(lambda s: s.query(AuditEntry).filter_by(action="outcome").one().detail)
    assert entry == {"outcome": "thinking", "next_contact": "2026-03-13"}


@pytest.mark.parametrize("body, field, code", [
    ({"to": "done", "outcome": "maybe"}, "outcome", "outcome_invalid"),
    ({"to": "done", "outcome": 3}, "outcome", "outcome_invalid"),
    ({"to": "done", "outcome": "deal", "next_contact": "13/03/2026"}, "next_contact", "date_invalid"),
    ({"to": "done", "outcome": "deal", "next_contact": "2026-03-01"}, "next_contact", "next_contact_past"),
    ({"to": "with_doctor", "doctor": "dr_sun", "outcome": "deal"}, "outcome", "outcome_at_finish"),
])
def test_a_wrong_outcome_is_422_and_changes_nothing(api, query, body, field, code):
    visit, path = in_consultation(api)
    refused = api.post(path, json=body)
    assert refused.status_code == 422
    assert (refused.get_json()["error"]["code"], refused.get_json()["error"]["field"]) == (code, field)
    stored = query(lambda s: (lambda v: (v.status.value, v.outcome, v.next_contact))(
        s.query(Visit).filter_by(public_id=visit["id"]).one()))
    assert stored == ("with_consultant", None, None)


def test_follow_ups_list_those_due_that_day_who_agreed_to_be_contacted(api, query, frozen_clock):
    agreed, agreed_path = in_consultation(api)
    agreed_to_contact(query, agreed)
    api.post(agreed_path, json={"to": "done", "outcome": "thinking", "next_contact": "2026-03-11"})
    refused, refused_path = in_consultation(api, name="王五", phone="13700137000")
    agreed_to_contact(query, refused, agreed=False)
    api.post(refused_path, json={"to": "done", "outcome": "no_deal", "next_contact": "2026-03-11"})

    assert api.get("/api/v1/follow-ups").get_json()["follow_ups"] == []  # today: nobody due
    frozen_clock.advance(days=1)  # the next clinic day: she is due, he never agreed to a call
    due = api.get("/api/v1/follow-ups").get_json()
    assert due["date"] == "2026-03-11"
    assert [(f["ticket"], f["name"], f["outcome"], f["visit_day"]) for f in due["follow_ups"]] == [
        ("A001", "李雪", "thinking", "2026-03-10")]
    assert api.get("/api/v1/follow-ups?date=11-03-2026").status_code == 422
