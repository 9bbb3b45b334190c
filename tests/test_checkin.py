"""One home for check-in: the kiosk, the desk and the API make the same visit from the same input."""

import pytest

from lobby.database import unit_of_work
from lobby.domain import visits
from lobby.extensions import db
from lobby.models import Client, Staff, Visit, VisitStatus

from .factories import ACTOR
from .test_admin import Staffer
from .test_kiosk import QUESTIONNAIRE, Kiosk, hidden, ids, returning, walk_in_details


def visit_made(query):
    def look(session):
        visit = session.query(Visit).one()
        return (visit.kind.value, visit.line.code, visit.consultant.username if visit.consultant else None,
                visit.triage_rule, visit.first_visit, visit.identity_flag, visit.client.name, visit.client.phone,
                session.query(Client).count())

    return query(look)


def walk_in_by(surface, app, api):
    """王小美, a first visit for a chemical peel, asking for Bea."""
    if surface == "kiosk":
        kiosk = Kiosk(app)
        details = walk_in_details(app, consultant=str(ids(app)["amy"] + 1))  # bea, next on the board
        panel = kiosk.post("/kiosk/details", {"flow": "walk-in", "key": "same", **details}).get_data(as_text=True)
        assert kiosk.post("/kiosk/finish", {**hidden(panel), **details, **QUESTIONNAIRE}).status_code == 200
    elif surface == "desk":
        details = walk_in_details(app, consultant=str(ids(app)["amy"] + 1))
        response = Staffer(app, "desk").post("/admin/register", {"kind": "walk-in", "key": "same", **details})
        assert response.status_code == 200
    else:
        response = api.post("/api/v1/visits", json={"name": "王小美", "phone": "13800138000", "kind": "walk-in",
                                                    "service": "peel", "consultant": "bea"})
        assert response.status_code == 201


def returning_by(surface, app, api):
    """张三华, on file with her own consultant Amy, back for a chemical peel."""
    if surface == "kiosk":
        kiosk = Kiosk(app)
        found = returning(kiosk, phone="13700137000", name="张三华", birth_year="1990").get_data(as_text=True)
        form = kiosk.post("/kiosk/reason", {**hidden(found), "service": str(ids(app)["peel"])}).get_data(as_text=True)
        assert kiosk.post("/kiosk/finish", {**hidden(form), **QUESTIONNAIRE}).status_code == 200
    elif surface == "desk":
        response = Staffer(app, "desk").post("/admin/register", {
            "kind": "returning", "key": "same", "name": "张三华", "phone": "13700137000", "birth_year": "1990",
            "service": str(ids(app)["peel"])})
        assert response.status_code == 200
    else:
        response = api.post("/api/v1/visits", json={"name": "张三华", "phone": "13700137000", "kind": "returning",
                                                    "service": "peel"})
        assert response.status_code == 201


@pytest.mark.parametrize("surface", ["kiosk", "desk", "api"])
def test_a_walk_in_is_the_same_visit_from_every_surface(app, api, frozen_clock, query, surface):
    assert ids(app)["amy"] + 1 == query(lambda s: s.query(Staff).filter_by(username="bea").one().id)
    walk_in_by(surface, app, api)
    assert visit_made(query) == ("walk-in", "skin", "bea", "requested", True, None, "王小美", "+8613800138000", 1)


@pytest.mark.parametrize("surface", ["kiosk", "desk", "api"])
def test_a_returning_client_is_the_same_visit_from_every_surface(app, api, frozen_clock, query, surface):
    with app.app_context():
        amy = db.session.query(Staff).filter_by(username="amy").one()
        db.session.add(Client(name="张三华", phone="+8613700137000", gender="female", birth_year=1990, consultant=amy))
        db.session.commit()
    returning_by(surface, app, api)
    assert visit_made(query) == ("returning", "skin", "amy", "own", False, None, "张三华", "+8613700137000", 1)


def test_a_visitor_holding_a_ticket_is_shown_it_not_given_a_second(app, api, frozen_clock, query):
    """The kiosk: the same walk-in again (they forgot, or a friend pressed on) gets their own ticket
    back with a word that it is theirs; the queue keeps one visit. Once it is over, or the next
    clinic day, a new check-in makes a new ticket."""
    def walk_in(key):
        kiosk = Kiosk(app)
        details = walk_in_details(app)
        panel = kiosk.post("/kiosk/details", {"flow": "walk-in", "key": key, **details}).get_data(as_text=True)
        return kiosk.post("/kiosk/finish", {**hidden(panel), **details, **QUESTIONNAIRE})

    first = walk_in("first").get_data(as_text=True)
    assert "A001" in first and "data-already" not in first
    again = walk_in("second")
    html = again.get_data(as_text=True)
    assert again.status_code == 200 and "data-already" in html and "A001" in html and "A002" not in html
    assert query(lambda s: s.query(Visit).count()) == 1

    with app.app_context():
        visit = db.session.query(Visit).one()
        with unit_of_work(db.session):
            for status in (VisitStatus.CALLED, VisitStatus.WITH_CONSULTANT, VisitStatus.DONE):
                visits.transition(db.session, visit, status, actor=ACTOR)
    later = walk_in("third").get_data(as_text=True)
    assert "A002" in later and "data-already" not in later  # the first visit is over: a new one
    frozen_clock.advance(days=1)
    assert "data-already" not in walk_in("fourth").get_data(as_text=True)  # A002 was yesterday's
    assert query(lambda s: s.query(Visit).count()) == 3


def test_a_returning_client_proven_at_the_kiosk_sees_their_ticket_at_once(app, api, frozen_clock, query):
    with app.app_context():
        db.session.add(Client(name="张三华", phone="+8613700137000", gender="female", birth_year=1990))
        db.session.commit()
    returning_by("kiosk", app, api)
    found = returning(Kiosk(app), phone="13700137000", name="张三华", birth_year="1990").get_data(as_text=True)
    assert "data-already" in found and "A001" in found  # before the questionnaire, not after it
    assert query(lambda s: s.query(Visit).count()) == 1


def test_the_desk_is_warned_and_may_give_a_second_ticket_with_a_reason(app, api, frozen_clock, query):
    from lobby.models import AuditEntry

    desk = Staffer(app, "desk")
    details = {"kind": "walk-in", **walk_in_details(app)}
    assert desk.post("/admin/register", {**details, "key": "one"}).status_code == 200
    warned = desk.post("/admin/register", {**details, "key": "two"})
    html = warned.get_data(as_text=True)
    assert warned.status_code == 409 and 'data-already="A001"' in html and "second_visit_reason" in html
    assert query(lambda s: s.query(Visit).count()) == 1
    forced = desk.post("/admin/register", {**details, "key": "three", "second_visit_reason": "做完咨询后加做治疗"})
    assert forced.status_code == 200 and 'data-registered="A002"' in forced.get_data(as_text=True)
    assert query(lambda s: s.query(AuditEntry).filter_by(action="second_visit").one().detail["reason"]) \
        == "做完咨询后加做治疗"
