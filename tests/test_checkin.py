"""One home for check-in: the kiosk, the desk and the API make the same visit from the same input."""

import pytest

from lobby.extensions import db
from lobby.models import Client, Staff, Visit

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
