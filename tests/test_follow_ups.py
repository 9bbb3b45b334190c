"""The desk's follow-ups across clinic days: thank-yous within 24 hours, next contacts on the day
agreed (and missed ones for a week), call-backs of bookings not kept — consenting clients only."""

import datetime as dt

import pytest

from lobby.domain import follow_ups
from lobby.domain.dayclose import SYSTEM, close_day
from lobby.models import (
    AppointmentStatus,
    AuditEntry,
    Client,
    FollowUpContact,
    HealthQuestionnaire,
    Visit,
    WebhookDelivery,
    WebhookEndpoint,
)

from .test_admin import Staffer


def in_english(staffer):
    """The desk's screens in English (the assertions read English words)."""
    staffer.client.get("/lang/en")
    return staffer

DAY1 = dt.date(2026, 3, 10)


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    return frozen_clock


def finished(api, query, name, phone, *, agreed=True, outcome="thinking", next_contact=None, language=None,
             consultant="bea"):
    visit = api.post("/api/v1/visits", json={"name": name, "phone": phone, "kind": "walk-in", "service": "peel",
                                             "consultant": consultant}).get_json()
    path = f"/api/v1/visits/{visit['id']}/transition"
    for target in ("called", "with_consultant"):
        assert api.post(path, json={"to": target}).status_code == 200

    def answer(session):
        stored = session.query(Visit).filter_by(public_id=visit["id"]).one()
        session.add(HealthQuestionnaire(visit_id=stored.id, answers={}, flags=[], consent_privacy=True,
                                        consent_contact=agreed))
        stored.client.language = language
        session.commit()
    query(answer)
    body = {"to": "done", "outcome": outcome, **({"next_contact": next_contact} if next_contact else {})}
    assert api.post(path, json=body).status_code == 200
    return visit


def listed(query, purpose, now=None):
    def look(session):
        from lobby.domain import clock
        moment = now or clock.utcnow()
        rows = {"thanks": lambda: follow_ups.thank_yous(session, moment),
                "next_contact": lambda: follow_ups.next_contacts(session, follow_ups.clinic_day(session, moment)),
                "no_show": lambda: follow_ups.no_show_call_backs(session, moment)}[purpose]()
        return [(f.client.name, f.due_day.isoformat(), f.done is not None) for f in rows]
    return query(look)


def test_thank_yous_are_for_consenting_clients_finished_in_the_last_24_hours(api, query, frozen_clock):
    finished(api, query, "李雪", "13900139000")                        # 10:00 Tuesday
    finished(api, query, "王五", "13700137000", agreed=False)           # never agreed to be contacted
    frozen_clock.advance(hours=3)
    finished(api, query, "赵敏", "13600136000", outcome="deal")          # 13:00

    def erase(session):  # erased data is never contacted
        session.query(Client).filter_by(name="赵敏").one().erased_at = frozen_clock.now
        session.commit()
    assert listed(query, "thanks") == [("李雪", "2026-03-10", False), ("赵敏", "2026-03-10", False)]
    query(erase)
    assert listed(query, "thanks") == [("李雪", "2026-03-10", False)]
    frozen_clock.advance(hours=20)  # Wednesday 09:00: still within 24 hours of her visit
    assert listed(query, "thanks") == [("李雪", "2026-03-10", False)]
    frozen_clock.advance(hours=2)   # Wednesday 11:00: more than a day ago
    assert listed(query, "thanks") == []


def test_next_contacts_come_on_the_day_agreed_and_stay_a_week_if_missed(app, api, query, frozen_clock):
    finished(api, query, "李雪", "13900139000", next_contact="2026-03-13")
    finished(api, query, "王五", "13700137000", agreed=False, next_contact="2026-03-13")
    finished(api, query, "孙丽", "13500135000", next_contact="2026-03-14")
    assert listed(query, "next_contact") == []
    frozen_clock.advance(days=3)  # Friday the 13th
    assert listed(query, "next_contact") == [("李雪", "2026-03-13", False)]
    frozen_clock.advance(days=1)  # Saturday: hers was missed, 孙丽's is due
    assert listed(query, "next_contact") == [("李雪", "2026-03-13", False), ("孙丽", "2026-03-14", False)]

    desk = in_english(Staffer(app, "desk"))
    key = query(lambda s: s.query(Visit).join(Client, Visit.client_id == Client.id).filter(Client.name == "李雪").one().public_id)
    response = desk.post(f"/admin/follow-ups/next_contact/{key}/contacted", {"note": "回电，下周来做"})
    assert response.status_code == 200
    assert "Contacted by" in response.get_data(as_text=True) or "联系人" in response.get_data(as_text=True)
    # Made: ticked for the rest of the day.
    assert listed(query, "next_contact") == [("李雪", "2026-03-13", True), ("孙丽", "2026-03-14", False)]
    # Marked once: a second click changes nothing.
    assert desk.post(f"/admin/follow-ups/next_contact/{key}/contacted").status_code == 200
    assert query(lambda s: s.query(FollowUpContact).count()) == 1
    audit = query(lambda s: s.query(AuditEntry).filter_by(action="contacted").one().detail)
    assert audit == {"purpose": "next_contact", "due": "2026-03-13"}
    frozen_clock.advance(days=1)  # a missed one made leaves the list the next day
    assert listed(query, "next_contact") == [("孙丽", "2026-03-14", False)]
    frozen_clock.advance(days=7)  # a week past 孙丽's day: no longer the desk's list
    assert listed(query, "next_contact") == []


def test_missed_bookings_are_listed_for_a_call_back_after_the_late_window(api, query, frozen_clock):
    booked = {}
    for name, phone, time in (("李雪", "13900139000", "10:30"), ("王五", "13700137000", "11:00"),
                              ("孙丽", "13500135000", "11:00")):
        booked[name] = api.post("/api/v1/appointments", json={
            "name": name, "phone": phone, "service": "peel", "starts_at": f"2026-03-10T{time}:00+08:00"}).get_json()
    assert api.post("/api/v1/visits", json={"appointment_code": booked["王五"]["code"]}).status_code == 201
    assert api.delete(f"/api/v1/appointments/{booked['孙丽']['id']}").status_code in (200, 204)
    frozen_clock.advance(hours=1)  # 11:00: her 10:30 booking is within the 30 minutes' grace
    assert listed(query, "no_show") == []
    frozen_clock.advance(minutes=1)
    assert listed(query, "no_show") == [("李雪", "2026-03-10", False)]
    frozen_clock.advance(days=1)  # the next morning it is still on the list (yesterday's)
    assert listed(query, "no_show") == [("李雪", "2026-03-10", False)]
    frozen_clock.advance(days=1)
    assert listed(query, "no_show") == []


def test_closing_the_day_marks_bookings_not_kept_and_tells_the_clinics_systems(app, api, query, frozen_clock):
    query(lambda s: (s.add(WebhookEndpoint(url="http://127.0.0.1:9/hook", secret="s", events=[],
                                           personal_data=False)), s.commit()))
    kept = api.post("/api/v1/appointments", json={"name": "王五", "phone": "13700137000", "service": "peel",
                                                  "starts_at": "2026-03-10T10:30:00+08:00"}).get_json()
    missed = api.post("/api/v1/appointments", json={"name": "李雪", "phone": "13900139000", "service": "peel",
                                                    "starts_at": "2026-03-10T11:00:00+08:00"}).get_json()
    tomorrow = api.post("/api/v1/appointments", json={"name": "孙丽", "phone": "13500135000", "service": "peel",
                                                      "starts_at": "2026-03-11T11:00:00+08:00"}).get_json()
    api.post("/api/v1/visits", json={"appointment_code": kept["code"]})

    def close(session):
        close_day(session, DAY1, actor=SYSTEM)
        session.commit()
    query(close)  # 10:00: closed early by hand, her 11:00 booking is still to come
    assert query(lambda s: s.query(WebhookDelivery).filter_by(event="appointment.no_show").count()) == 0
    frozen_clock.advance(hours=12)  # 22:00: the nightly close
    query(close)
    from lobby.models import Appointment
    statuses = query(lambda s: {a.public_id: a.status for a in s.query(Appointment)})
    assert statuses == {kept["id"]: AppointmentStatus.CHECKED_IN, missed["id"]: AppointmentStatus.NO_SHOW,
                        tomorrow["id"]: AppointmentStatus.BOOKED}
    sent = query(lambda s: [(d.event, d.payload["data"]) for d in s.query(WebhookDelivery)
                            .filter_by(event="appointment.no_show")])
    assert len(sent) == 1 and sent[0][1]["appointment"] == missed["id"]
    assert "name" not in sent[0][1] and "phone" not in sent[0][1]  # the endpoint takes no personal data


def test_the_message_is_written_in_the_clients_language(app, api, query):
    finished(api, query, "Mia Chen", "13900139000", language="en", next_contact="2026-03-12")
    finished(api, query, "李雪", "13700137000", consultant="amy")
    page = in_english(Staffer(app, "desk")).get("/admin/follow-ups").get_data(as_text=True)
    assert "Dear Mia Chen, thank you for visiting Test Clinic today" in page
    assert "As agreed, we will be in touch again on 03/12." in page
    assert "李雪，您好！感谢您今天光临Test Clinic" in page
    assert 'lang="en"' in page and 'lang="zh-CN"' in page


def test_only_the_desk_sees_follow_ups(app, api, query):
    visit = finished(api, query, "李雪", "13900139000")
    consultant = Staffer(app, "bea")
    assert consultant.get("/admin/follow-ups").status_code == 403
    assert consultant.post(f"/admin/follow-ups/thanks/{visit['id']}/contacted").status_code == 403
    desk = in_english(Staffer(app, "desk"))
    assert desk.post("/admin/follow-ups/thanks/not-a-visit/contacted").status_code == 404
    assert desk.post(f"/admin/follow-ups/sometime/{visit['id']}/contacted").status_code == 404
    assert query(lambda s: s.query(FollowUpContact).count()) == 0


# --- the outcome in one tap ------------------------------------------------------------------


def in_consultation(api, consultant="bea"):
    visit = api.post("/api/v1/visits", json={"name": "李雪", "phone": "13900139000", "kind": "walk-in",
                                             "service": "peel", "consultant": consultant}).get_json()
    for target in ("called", "with_consultant"):
        api.post(f"/api/v1/visits/{visit['id']}/transition", json={"to": target})
    return visit


def stored(query, visit):
    return query(lambda s: (lambda v: (v.status.value, v.outcome, v.next_contact, v.services_agreed))(
        s.query(Visit).filter_by(public_id=visit["id"]).one()))


def test_a_consultant_finishes_with_the_outcome_in_one_tap(app, api, query):
    visit = in_consultation(api)
    consultant = Staffer(app, "bea")
    queue = consultant.get("/admin/").get_data(as_text=True)
    assert 'name="outcome" value="thinking"' in queue  # the row's own buttons
    response = consultant.post(f"/admin/visits/{visit['id']}/act", {"action": "finish", "expected": "with_consultant",
                                                                    "outcome": "thinking"})
    assert response.status_code == 200
    assert stored(query, visit) == ("done", "thinking", None, None)


def test_the_finish_popover_adds_a_next_contact_and_the_treatments_agreed(app, api, query):
    visit = in_consultation(api)
    desk = in_english(Staffer(app, "desk"))
    bad = desk.post(f"/admin/visits/{visit['id']}/act", {"action": "finish", "expected": "with_consultant",
                                                         "outcome": "no_deal", "services": "peel"})
    assert bad.status_code == 422 and stored(query, visit)[0] == "with_consultant"
    bad_day = desk.post(f"/admin/visits/{visit['id']}/act", {"action": "finish", "expected": "with_consultant",
                                                             "outcome": "deal", "next_contact": "13/03"})
    assert bad_day.status_code == 422 and stored(query, visit)[0] == "with_consultant"
    done = desk.client.post(f"/admin/visits/{visit['id']}/act", data={
        "action": "finish", "expected": "with_consultant", "outcome": "deal", "next_contact": "2026-03-24",
        "services": ["peel", "eyelid"]}, headers={"HX-Request": "true", "X-CSRFToken": desk.csrf})
    assert done.status_code == 200
    assert stored(query, visit) == ("done", "deal", dt.date(2026, 3, 24), ["peel", "eyelid"])


def test_an_outcome_told_after_the_finish_is_recorded_on_the_visitors_page(app, api, query):
    visit = in_consultation(api)
    consultant = Staffer(app, "bea")
    early = consultant.post(f"/admin/visits/{visit['id']}/outcome", {"outcome": "deal"})
    assert early.status_code == 409 and stored(query, visit)[1] is None
    api.post(f"/api/v1/visits/{visit['id']}/transition", json={"to": "done"})
    assert Staffer(app, "amy").post(f"/admin/visits/{visit['id']}/outcome", {"outcome": "deal"}).status_code == 403
    page = consultant.post(f"/admin/visits/{visit['id']}/outcome", {"outcome": "thinking", "next_contact": "2026-03-17"})
    assert page.status_code == 200
    assert stored(query, visit) == ("done", "thinking", dt.date(2026, 3, 17), None)
    assert consultant.post(f"/admin/visits/{visit['id']}/outcome", {"outcome": "maybe"}).status_code == 422
    assert stored(query, visit)[1] == "thinking"


def test_erasing_a_client_takes_her_name_and_phone_out_of_webhooks_not_yet_sent(app, api, query):
    from lobby.domain.audit import Actor
    from lobby.domain.privacy_lifecycle import erase_client

    query(lambda s: (s.add(WebhookEndpoint(url="http://127.0.0.1:9/hook", secret="s", events=[],
                                           personal_data=True)), s.commit()))
    visit = finished(api, query, "李雪", "13900139000", outcome="deal")
    other = finished(api, query, "王五", "13700137000", outcome="deal")

    def erase(session):
        client = session.query(Visit).filter_by(public_id=visit["id"]).one().client
        erase_client(session, client, actor=Actor("staff:tests"))
        session.commit()
    query(erase)
    payloads = query(lambda s: [d.payload["data"] for d in s.query(WebhookDelivery)])
    hers = [p for p in payloads if p["visit"] == visit["id"]]
    his = [p for p in payloads if p["visit"] == other["id"]]
    assert hers and all("name" not in p and "phone" not in p for p in hers)
    assert his and all(p["name"] == "王五" for p in his)  # nobody else's data is touched


def test_the_nightly_purge_keeps_a_month_of_the_delivery_log(app, api, query, frozen_clock):
    from lobby.domain.audit import Actor
    from lobby.domain.privacy_lifecycle import purge

    def seed(session):
        endpoint = WebhookEndpoint(url="http://127.0.0.1:9/hook", secret="s", events=[], personal_data=False)
        session.add(endpoint)
        session.flush()
        for days in (31, 2):
            session.add(WebhookDelivery(endpoint_id=endpoint.id, event="visit.finished", payload={"data": {}},
                                        delivered_at=frozen_clock.now - dt.timedelta(days=days)))
        session.add(WebhookDelivery(endpoint_id=endpoint.id, event="visit.finished", payload={"data": {}},
                                    created_at=frozen_clock.now - dt.timedelta(days=40)))  # never delivered
        session.commit()
    query(seed)

    def run(session):
        purge(session, actor=Actor("purge"))
        session.commit()
    query(run)
    left = query(lambda s: sorted((d.delivered_at is None, d.created_at.date().isoformat())
                                  for d in s.query(WebhookDelivery)))
    assert [undelivered for undelivered, _ in left] == [False, True]  # the recent one and the unsent one


def test_a_client_who_refuses_contact_later_is_not_called(api, query, frozen_clock):
    finished(api, query, "李雪", "13900139000", next_contact="2026-03-13")
    frozen_clock.advance(days=1)  # she comes back and says no this time
    finished(api, query, "李雪", "13900139000", agreed=False, outcome="deal")
    frozen_clock.advance(days=2)
    assert listed(query, "next_contact") == []
    assert api.get("/api/v1/follow-ups").get_json()["follow_ups"] == []


def test_a_booking_missed_is_booked_again_through_its_external_id(api, query, frozen_clock):
    body = {"name": "李雪", "phone": "13900139000", "service": "peel", "external_id": "crm-42",
            "starts_at": "2026-03-10T10:30:00+08:00"}
    first = api.post("/api/v1/appointments", json=body).get_json()
    frozen_clock.advance(hours=12)

    def close(session):
        close_day(session, DAY1, actor=SYSTEM)
        session.commit()
    query(close)
    again = api.post("/api/v1/appointments", json={**body, "starts_at": "2026-03-12T15:00:00+08:00"})
    assert again.status_code in (200, 201) and again.get_json()["id"] == first["id"]
    from lobby.models import Appointment
    assert query(lambda s: s.query(Appointment).one().status) == AppointmentStatus.BOOKED


def test_the_finish_webhook_and_a_later_correction_keep_what_was_agreed(app, api, query):
    query(lambda s: (s.add(WebhookEndpoint(url="http://127.0.0.1:9/hook", secret="s", events=["visit.finished"],
                                           personal_data=False)), s.commit()))
    visit = in_consultation(api)
    done = api.post(f"/api/v1/visits/{visit['id']}/transition", json={
        "to": "done", "outcome": "deal", "services": ["peel", "peel"], "next_contact": "2026-03-12"})
    assert done.status_code == 200 and done.get_json()["services_agreed"] == ["peel"]
    finished_event = query(lambda s: s.query(WebhookDelivery).one().payload["data"])
    assert (finished_event["services_agreed"], finished_event["next_contact"]) == (["peel"], "2026-03-12")
    # The next contact corrected on the visitor's page: the treatments agreed stay.
    Staffer(app, "bea").post(f"/admin/visits/{visit['id']}/outcome", {"outcome": "deal", "next_contact": "2026-03-20"})
    assert stored(query, visit) == ("done", "deal", dt.date(2026, 3, 20), ["peel"])


def test_too_many_treatments_is_a_clear_422_not_a_crash(api, query):
    visit = in_consultation(api)
    path = f"/api/v1/visits/{visit['id']}/transition"
    many = api.post(path, json={"to": "done", "outcome": "deal", "services": [f"s{i}" for i in range(21)]})
    assert many.status_code == 422 and many.get_json()["error"]["code"] == "services_too_many"
    huge = api.post(path, json={"to": "done", "outcome": "deal", "services": ["peel"] * 200_000})
    assert huge.status_code == 200  # the same treatment sent many times is one treatment
    assert stored(query, visit)[3] == ["peel"]


def test_the_finish_popover_starts_with_no_outcome_chosen(app, api):
    in_consultation(api)
    queue = Staffer(app, "bea").get("/admin/").get_data(as_text=True)
    popover = queue[queue.index('class="reassign finish-more"'):]
    assert '<input type="radio" name="outcome" value="" checked>' in popover
    assert "selected" not in popover[:popover.index("</details>")]
