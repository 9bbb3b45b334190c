"""Who is checking in: a phone number alone reveals nothing on the public tablet, a check-in never
edits a client on file, and the desk resolves what disagrees (issue: privacy on the lobby tablet)."""

import datetime as dt
import logging
import re

import pytest

from lobby.extensions import db
from lobby.models import (
    AuditEntry,
    Client,
    HealthQuestionnaire,
    Staff,
    Visit,
    VisitKind,
)

from .factories import MORNING
from .test_admin import Staffer
from .test_kiosk import QUESTIONNAIRE, Kiosk, hidden, ids, returning, walk_in_details

PHONE = "13700137000"
SECRET_ANSWERS = {"allergy_detail": "青霉素过敏性休克", "surgery_history": "2019年隆鼻术",
                  "medication_detail": "华法林每日两次"}


@pytest.fixture
def kiosk(app, api, frozen_clock):
    return Kiosk(app)


@pytest.fixture
def zhang(app, api, frozen_clock):
    """张三华: a client on file with her consultant and last visit's answers."""
    with app.app_context():
        amy = db.session.query(Staff).filter_by(username="amy").one()
        client = Client(name="张三华", phone="+86" + PHONE, gender="female", birth_year=1990, consultant=amy,
                        channel="friend")
        db.session.add(client)
        db.session.flush()
        earlier = Visit(clinic_day=dt.date(2026, 2, 1), line_id=1, number=1, ticket="A001", kind=VisitKind.WALK_IN,
                        client=client, checked_in_at=MORNING - dt.timedelta(days=37))
        db.session.add(earlier)
        db.session.flush()
        db.session.add(HealthQuestionnaire(visit_id=earlier.id, flags=["allergy", "anticoagulant"],
                                           consent_privacy=True, answers={
                                               "allergies": ["drugs"], "chronic": [], "medication": ["anticoagulants"],
                                               "pregnancy": "no", "smoking": "no", "procedure_history": "",
                                               **SECRET_ANSWERS}))
        db.session.commit()
        return client.public_id


def kiosk_walk_in(app, kiosk, key, **typed):
    """A walk-in on the tablet, from their details to the ticket; returns the ticket response."""
    details = walk_in_details(app, phone=PHONE, **typed)
    panel = kiosk.post("/kiosk/details", {"flow": "walk-in", "key": key, **details}).get_data(as_text=True)
    return kiosk.post("/kiosk/finish", {**hidden(panel), **details, **QUESTIONNAIRE})


def todays_visit(query):
    return query(lambda s: s.query(Visit).filter(Visit.clinic_day == dt.date(2026, 3, 10)).one())


def client_row(query, name):
    return query(lambda s: s.query(Client).filter_by(name=name).one())


def normalised(html: str) -> str:
    """A panel without its one-time values (the check-in key and the signed token)."""
    return re.sub(r'name="(key|who)" value="[^"]*"', r'name="\1" value=""', html)


def test_a_known_and_an_unknown_phone_get_the_same_page(kiosk, zhang):
    typed = {"name": "李四", "birth_year": "1985"}
    known = returning(kiosk, phone=PHONE, **typed)
    unknown = returning(Kiosk(kiosk.app), phone="13700137999", **typed)
    assert known.status_code == unknown.status_code == 200
    assert normalised(known.get_data(as_text=True)) == normalised(unknown.get_data(as_text=True))
    # Her name, her consultant and the second factor's near-miss: nothing of it.
    near_miss = returning(Kiosk(kiosk.app), phone=PHONE, name="张三华", birth_year="1991").get_data(as_text=True)
    assert normalised(near_miss) == normalised(known.get_data(as_text=True))
    for page in (known.get_data(as_text=True), near_miss):
        assert "张女士" not in page and "Amy" not in page and "欢迎您再次光临" in page


def test_no_answer_text_on_the_tablet_on_any_step_of_the_returning_path(kiosk, zhang):
    pages = []
    found = returning(kiosk, phone=PHONE, name="张三华", birth_year="1990")
    pages.append(found)
    form = kiosk.post("/kiosk/reason", {**hidden(found.get_data(as_text=True)), "service": ""})
    pages.append(form)
    # A questionnaire sent back with an error is shown again: still nothing of last time's.
    pages.append(kiosk.post("/kiosk/finish", {**hidden(form.get_data(as_text=True)), "smoking": "no"}))
    pages.append(kiosk.post("/kiosk/finish", {**hidden(form.get_data(as_text=True)), **QUESTIONNAIRE}))
    assert [p.status_code for p in pages] == [200, 200, 422, 200]
    for page in pages:
        html = page.get_data(as_text=True)
        assert not any(secret in html for secret in SECRET_ANSWERS.values())
        assert not re.search(r'value="(drugs|anticoagulants)" checked', html)
    # She is told the topics she mentioned, to check what changed.
    assert "上次您告诉我们：过敏、手术史、用药情况" in form.get_data(as_text=True)


def test_a_walk_in_with_a_taken_phone_leaves_the_client_unchanged(app, kiosk, zhang, query):
    ticket = kiosk_walk_in(app, kiosk, "k1", name="李四", gender="male", birth_year="1985", channel="ads")
    assert ticket.status_code == 200
    zhang_now = client_row(query, "张三华")
    assert (zhang_now.gender, zhang_now.birth_year, zhang_now.channel) == ("female", 1990, "friend")
    visit = todays_visit(query)
    assert visit.identity_flag == "phone_mismatch" and visit.identity_candidate_id == zhang_now.id
    assert visit.triage_rule == "rotation" and visit.first_visit  # not sent to her consultant as her
    li = client_row(query, "李四")
    assert (visit.client_id, li.phone, li.gender, li.birth_year) == (li.id, "+86" + PHONE, "male", 1985)
    # Her record holds only her own answers.
    assert query(lambda s: s.query(HealthQuestionnaire).join(Visit).filter(Visit.client_id == zhang_now.id).count()) == 1
    # The desk sees the flag on the row.
    desk = Staffer(app, "desk")
    row = desk.get("/admin/").get_data(as_text=True)
    assert "同一手机号，姓名不同" in row


def test_the_desk_merges_the_same_person_and_tomorrow_the_tablet_knows_her(app, kiosk, zhang, query, frozen_clock):
    with app.app_context():  # a client booked by phone: no year of birth on file yet
        client = db.session.query(Client).filter_by(name="张三华").one()
        client.birth_year = None
        db.session.commit()
    found = returning(kiosk, phone=PHONE, name="张三华", birth_year="1990").get_data(as_text=True)
    assert "张女士" not in found  # not proven: nothing on file to check the year against
    form = kiosk.post("/kiosk/reason", {**hidden(found), "service": str(ids(app)["peel"])}).get_data(as_text=True)
    kiosk.post("/kiosk/finish", {**hidden(form), **QUESTIONNAIRE})
    visit = todays_visit(query)
    assert visit.identity_flag == "phone_mismatch" and visit.triage_rule != "own"

    desk = Staffer(app, "desk")
    page = desk.get(f"/admin/visits/{visit.public_id}").get_data(as_text=True)
    assert "是同一人：合并到已有档案" in page
    response = desk.post(f"/admin/visits/{visit.public_id}/identity", {"decision": "same_person"})
    assert response.status_code in (200, 302)
    assert query(lambda s: s.query(Client).count()) == 1
    merged = query(lambda s: (lambda v: (v.identity_flag, v.client.public_id, v.client.birth_year))(
        s.query(Visit).filter_by(public_id=visit.public_id).one()))
    assert merged == (None, zhang, 1990)
    entry = query(lambda s: s.query(AuditEntry).filter_by(action="identity").one())
    assert entry.detail["decision"] == "same_person" and entry.detail["filled"] == ["birth_year"]
    assert "1990" not in repr(entry.detail)  # field names only, never the values

    # The next clinic day, the tablet recognises her and sends her to her own consultant.
    frozen_clock.advance(days=1)
    tomorrow = Kiosk(app)
    found = returning(tomorrow, phone=PHONE, name="张三华", birth_year="1990").get_data(as_text=True)
    assert "张女士，欢迎您再次光临" in found


def test_different_people_keep_both_records(app, kiosk, zhang, query):
    kiosk_walk_in(app, kiosk, "k2", name="张小华", birth_year="2001")
    visit = todays_visit(query)
    desk = Staffer(app, "desk")
    desk.post(f"/admin/visits/{visit.public_id}/identity", {"decision": "different_people"})
    assert query(lambda s: s.query(Client).count()) == 2
    assert query(lambda s: s.get(Visit, visit.id).identity_flag) is None
    again = desk.post(f"/admin/visits/{visit.public_id}/identity", {"decision": "same_person"})
    assert again.status_code == 409 and "同事已处理过此事" in again.get_data(as_text=True)


def test_details_that_differ_are_shown_and_changed_only_by_the_desk(app, kiosk, zhang, query):
    kiosk_walk_in(app, kiosk, "k3", name="张三华", birth_year="1990", gender="other", channel="ads")
    visit = todays_visit(query)
    assert visit.identity_flag == "details_differ" and visit.identity_typed == {"gender": "other", "channel": "ads"}
    assert (client_row(query, "张三华").gender, client_row(query, "张三华").channel) == ("female", "friend")
    assert query(lambda s: s.query(Client).count()) == 1  # proven: the visit is on her record

    desk = Staffer(app, "desk")
    desk.post(f"/admin/visits/{visit.public_id}/identity", {"decision": "update_file"})
    assert (client_row(query, "张三华").gender, client_row(query, "张三华").channel) == ("other", "ads")
    entry = query(lambda s: s.query(AuditEntry).filter_by(action="identity").one())
    assert entry.detail["changed"] == ["gender", "channel"] and "ads" not in repr(entry.detail)


def test_the_desk_corrects_a_client_record_audited(app, kiosk, zhang, query):
    kiosk_walk_in(app, kiosk, "k4", name="张三华", birth_year="1990")
    visit = todays_visit(query)
    desk = Staffer(app, "desk")
    bad = desk.post(f"/admin/visits/{visit.public_id}/client", {"name": "", "phone": PHONE})
    assert bad.status_code == 422 and "请输入姓名" in bad.get_data(as_text=True)
    ok = desk.post(f"/admin/visits/{visit.public_id}/client",
                   {"name": "张三华", "phone": PHONE, "gender": "female", "birth_year": "1989"})
    assert ok.status_code == 200 and client_row(query, "张三华").birth_year == 1989
    entry = query(lambda s: (lambda e: (e.actor.username, e.detail["fields"]))(
        s.query(AuditEntry).filter_by(action="client_edited").one()))
    assert entry[0] == "desk" and "birth_year" in entry[1]
    # A consultant sees the visitor but may not edit the record.
    assert Staffer(app, "bea").post(f"/admin/visits/{visit.public_id}/client", {"name": "x"}).status_code == 403


def test_the_api_and_the_desk_never_rename_a_client_either(app, api, zhang, query):
    response = api.post("/api/v1/visits", json={"name": "王五", "phone": PHONE, "kind": "walk-in"})
    assert response.status_code == 201
    assert client_row(query, "张三华").name == "张三华"
    visit = query(lambda s: (lambda v: (v.identity_flag, v.client.name))(
        s.query(Visit).filter_by(public_id=response.get_json()["id"]).one()))
    assert visit == ("phone_mismatch", "王五")
    desk = Staffer(app, "desk")
    desk.post("/admin/register", {"kind": "returning", "name": "赵六", "phone": PHONE, "key": "desk-1"})
    assert client_row(query, "张三华").name == "张三华" and client_row(query, "赵六").phone == "+86" + PHONE
    # An appointment booked under another name is that person's, not hers.
    booked = api.post("/api/v1/appointments", json={"name": "孙七", "phone": PHONE, "service": "peel",
                                                    "starts_at": "2026-03-10T15:00:00+08:00"})
    assert booked.status_code == 201 and booked.get_json()["name"] == "孙七"
    assert client_row(query, "张三华").name == "张三华"


# --- throttles ----------------------------------------------------------------------------------------


def test_look_ups_from_one_tablet_are_throttled_and_logged(app, kiosk, zhang, caplog):
    caplog.set_level(logging.WARNING, logger="lobby.security")
    statuses = []
    for n in range(45):
        phone = f"1370013{n:04d}"
        statuses.append(returning(kiosk, phone=phone, name="李四", birth_year="1985").status_code)
    assert statuses[:40] == [200] * 40 and set(statuses[40:]) == {429}
    page = returning(kiosk, phone=PHONE, name="李四", birth_year="1985").get_data(as_text=True)
    assert "尝试次数过多" in page
    assert "throttled" in caplog.text and "limit=tablet" in caplog.text
    assert "13700" not in caplog.text and PHONE not in caplog.text


def test_look_ups_of_one_number_are_throttled_from_any_tablet(app, zhang, caplog, frozen_clock):
    caplog.set_level(logging.WARNING, logger="lobby.security")
    statuses = []
    for n in range(22):
        tablet = Kiosk(app)
        tablet.client.environ_base["REMOTE_ADDR"] = f"10.0.0.{n + 1}"
        statuses.append(tablet.post("/kiosk/appointment", {"phone": PHONE, "code": f"{n:06d}"}).status_code)
    assert statuses[:20] == [404] * 20 and statuses[20:] == [429, 429]
    assert "limit=phone" in caplog.text and PHONE not in caplog.text


def test_after_too_many_failed_proofs_the_number_is_not_recognised_for_a_day(app, zhang, caplog):
    caplog.set_level(logging.WARNING, logger="lobby.security")
    for year in range(1980, 1985):
        tablet = Kiosk(app)
        tablet.client.environ_base["REMOTE_ADDR"] = f"10.1.0.{year - 1979}"
        assert "张女士" not in returning(tablet, phone=PHONE, name="张三华", birth_year=str(year)).get_data(as_text=True)
    right = returning(Kiosk(app), phone=PHONE, name="张三华", birth_year="1990").get_data(as_text=True)
    assert "张女士" not in right and "欢迎您再次光临" in right  # the same page as any miss
    assert "limit=proof" in caplog.text and PHONE not in caplog.text


def test_a_desk_check_in_fills_no_blank_on_file_it_asks_instead(app, zhang, query):
    with app.app_context():  # booked by phone: no year of birth on file yet
        client = db.session.query(Client).filter_by(name="张三华").one()
        client.birth_year = None
        db.session.commit()
    Staffer(app, "desk").post("/admin/register", {"kind": "returning", "key": "d1", "name": "张三华",
                                                  "phone": PHONE, "birth_year": "1990"})
    assert client_row(query, "张三华").birth_year is None  # the file waits for a person's decision
    visit = todays_visit(query)
    assert (visit.identity_flag, visit.identity_typed) == ("details_differ", {"birth_year": 1990})
    Staffer(app, "desk").post(f"/admin/visits/{visit.public_id}/identity", {"decision": "update_file"})
    assert client_row(query, "张三华").birth_year == 1990
