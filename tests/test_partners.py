"""报备: partner stores register clients ahead; at check-in the desk verifies the store (核定) in one
click, and the A-class store's client sees its consultant while the others go by rotation."""

import pytest

from lobby.models import AuditEntry, Client, PartnerRegistration, PartnerStore, Visit

from .test_admin import Staffer


def in_english(staffer):
    """The desk's screens in English (the assertions read English words)."""
    staffer.client.get("/lang/en")
    return staffer


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    return frozen_clock


@pytest.fixture
def store_codes(query):
    def codes(session):
        stores = {s.name: s for s in session.query(PartnerStore)}
        stores["A-class store"].code, stores["Ordinary store"].code = "A01", "B07"
        session.commit()
    query(codes)


def register(api, **body):
    return api.post("/api/v1/partner-registrations", json={"partner": "A01", "name": "周洁", "phone": "13611112222",
                                                           **body})


def test_a_store_registers_a_client_once_and_her_store_is_set(api, query, store_codes):
    first = register(api, expected_day="2026-03-12", note="想做鼻子")
    assert first.status_code == 201
    body = first.get_json()
    assert (body["partner"], body["a_class"], body["expected_day"], body["arrived"]) == ("A01", True, "2026-03-12", False)
    again = register(api, expected_day="2026-03-13")  # stores resend their lists
    assert again.status_code == 200 and again.get_json()["id"] == body["id"]
    assert again.get_json()["expected_day"] == "2026-03-13"
    assert query(lambda s: s.query(PartnerRegistration).count()) == 1
    assert query(lambda s: s.query(Client).filter_by(name="周洁").one().partner.code) == "A01"
    # Another store later: kept, but the client stays the first store's.
    assert register(api, partner="B07").status_code == 201
    assert query(lambda s: s.query(Client).filter_by(name="周洁").one().partner.code) == "A01"
    listed = api.get("/api/v1/partner-registrations").get_json()
    assert sorted(r["partner"] for r in listed) == ["A01", "B07"]


@pytest.mark.parametrize("body, field, code", [
    ({"partner": "NOPE"}, "partner", "unknown_partner"),
    ({"partner": None}, "partner", "partner_required"),
    ({"name": ""}, "name", "name_required"),
    ({"phone": "12"}, "phone", "phone_invalid"),
    ({"expected_day": "2026-03-01"}, "expected_day", "expected_day_past"),
    ({"expected_day": "12/03"}, "expected_day", "date_invalid"),
])
def test_a_bad_registration_is_422_and_stores_nothing(api, query, store_codes, body, field, code):
    refused = register(api, **body)
    assert refused.status_code == 422
    assert (refused.get_json()["error"]["code"], refused.get_json()["error"]["field"]) == (code, field)
    assert query(lambda s: s.query(PartnerRegistration).count()) == 0


def walk_in(api, name="周洁", phone="13611112222"):
    response = api.post("/api/v1/visits", json={"name": name, "phone": phone, "kind": "walk-in", "service": "nose"})
    assert response.status_code == 201
    return response.get_json()


def test_at_check_in_the_desk_verifies_the_store_in_one_click(app, api, query, store_codes, frozen_clock):
    register(api, expected_day="2026-03-11")
    frozen_clock.advance(days=1)  # she comes the next day, as announced
    visit = walk_in(api)
    assert (visit["consultant"], visit["ticket"]) == ("dan", "B001")  # the A-class store's consultant
    desk = in_english(Staffer(app, "desk"))
    row = desk.get("/admin/").get_data(as_text=True)
    assert "Registered by A-class store" in row and "Verify (核定)" in row
    verified = desk.post(f"/admin/visits/{visit['id']}/verify-partner")
    assert verified.status_code == 200
    assert "B001: A-class store verified · Dan" in verified.get_data(as_text=True)
    assert "Verify (核定)" not in verified.get_data(as_text=True)
    audit = query(lambda s: s.query(AuditEntry).filter_by(action="partner_verified").one().detail)
    assert audit == {"partner": "A-class store", "a_class": True, "consultant": "dan"}
    page = desk.get("/admin/partners").get_data(as_text=True)
    assert "Arrived · B001 · verified" in page
    # Her registration is used: a later visit is not a registered arrival again.
    assert query(lambda s: s.query(PartnerRegistration).one().visit.public_id) == visit["id"]


def test_an_ordinary_stores_client_goes_by_rotation(app, api, query, store_codes):
    register(api, partner="B07", name="马丽", phone="13622223333")
    visit = walk_in(api, name="马丽", phone="13622223333")
    stored = query(lambda s: (lambda v: (v.consultant.username if v.consultant else None, v.triage_rule))(
        s.query(Visit).filter_by(public_id=visit["id"]).one()))
    assert stored[1] != "partner"
    desk = in_english(Staffer(app, "desk"))
    done = desk.post(f"/admin/visits/{visit['id']}/verify-partner").get_data(as_text=True)
    assert "Ordinary store verified · by rotation" in done


def test_a_visitor_no_store_registered_has_nothing_to_verify(app, api):
    visit = walk_in(api, name="路人", phone="13633334444")
    desk = in_english(Staffer(app, "desk"))
    assert "Verify (核定)" not in desk.get("/admin/").get_data(as_text=True)
    assert desk.post(f"/admin/visits/{visit['id']}/verify-partner").status_code == 404
    assert Staffer(app, "bea").post(f"/admin/visits/{visit['id']}/verify-partner").status_code == 403


def test_the_desk_registers_for_a_store_and_bad_input_says_what_is_wrong(app, api, query, store_codes):
    desk = in_english(Staffer(app, "desk"))
    store = query(lambda s: s.query(PartnerStore).filter_by(code="A01").one().id)
    bad = desk.post("/admin/partners", {"partner": str(store), "name": "周洁", "phone": "12"})
    assert bad.status_code == 422 and "not a valid mobile number" in bad.get_data(as_text=True)
    no_store = desk.post("/admin/partners", {"partner": "", "name": "周洁", "phone": "13611112222"})
    assert no_store.status_code == 422 and "Choose the partner store." in no_store.get_data(as_text=True)
    ok = desk.post("/admin/partners", {"partner": str(store), "name": "周洁", "phone": "13611112222",
                                       "expected_day": "2026-03-10"})
    assert ok.status_code == 200 and "周洁 is registered for A-class store." in ok.get_data(as_text=True)
    registration = query(lambda s: (lambda r: (r.registered_by, r.partner.code))(s.query(PartnerRegistration).one()))
    assert registration == ("Desk", "A01")


def test_a_registration_waits_a_month_for_its_client(api, query, store_codes, frozen_clock):
    register(api)
    frozen_clock.advance(days=31)
    visit = walk_in(api)
    assert query(lambda s: s.query(PartnerRegistration).one().visit_id) is None
    assert visit["consultant"] == "dan"  # still the store's client (her file says so)


def test_merging_a_registered_client_into_the_one_on_file_keeps_her_registration(app, api, query, store_codes):
    on_file = walk_in(api, name="李雪", phone="13900139000")
    api.post(f"/api/v1/visits/{on_file['id']}/transition", json={"to": "left"})
    register(api, name="李 雪儿", phone="13900139000")  # the store typed her name another way
    visit = walk_in(api, name="李 雪儿", phone="13900139000")

    def flag(session):  # as a check-in flags a phone on file under another name
        stored = session.query(Visit).filter_by(public_id=visit["id"]).one()
        stored.identity_flag = "phone_mismatch"
        stored.identity_candidate_id = session.query(Visit).filter_by(public_id=on_file["id"]).one().client_id
        session.commit()
    query(flag)
    desk = in_english(Staffer(app, "desk"))
    assert desk.post(f"/admin/visits/{visit['id']}/identity", {"decision": "same_person"}).status_code == 302
    kept = query(lambda s: s.query(Visit).filter_by(public_id=on_file["id"]).one().client_id)
    registration = query(lambda s: (lambda r: (r.client_id, r.client.partner.code))(s.query(PartnerRegistration).one()))
    assert registration == (kept, "A01")


def test_a_registered_client_checking_in_at_the_tablet_is_recognised_by_name_and_phone(app, api, query, store_codes):
    """Stores send no year of birth, so the tablet cannot prove she is the file the store made: her
    new file still answers the registration (same name and phone), and the store's routing holds."""
    from .test_kiosk import QUESTIONNAIRE, Kiosk, hidden, walk_in_details

    register(api, name="王小美", phone="13800138000")
    kiosk = Kiosk(app)
    carry = hidden(kiosk.get("/kiosk/step/walk-in").get_data(as_text=True))
    details = kiosk.post("/kiosk/details", {**carry, **walk_in_details(app)})
    assert kiosk.post("/kiosk/finish", {**hidden(details.get_data(as_text=True)), **QUESTIONNAIRE}).status_code == 200
    visit = query(lambda s: (lambda v: (v.consultant.username, v.triage_rule, v.client.partner.code))(
        s.query(Visit).one()))
    assert visit == ("dan", "partner", "A01")
    assert query(lambda s: s.query(PartnerRegistration).one().visit_id) is not None


def test_someone_else_on_the_same_phone_does_not_answer_the_registration(app, api, query, store_codes):
    register(api, name="周洁", phone="13611112222")
    walk_in(api, name="周洁的妈妈", phone="13611112222")
    assert query(lambda s: s.query(PartnerRegistration).one().visit_id) is None
