"""Re-told when it changes (seed 003 §6.2): a waiting visitor whose expected call moves by more than
the clinic's threshold gets one notice on their phone and one prompt on the desk, until a
receptionist ticks it as told."""

import datetime as dt

import pytest

from lobby.extensions import socketio
from lobby.models import AuditEntry, ClinicSettings
from lobby.tokens import ticket_token

from .factories import MORNING
from .test_admin import Staffer


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    return frozen_clock


def walk_in(api, name, phone, **extra):
    response = api.post("/api/v1/visits", json={"name": name, "phone": phone, "kind": "walk-in",
                                                "service": "peel", **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def amy_away_for(api, minutes):
    until = (MORNING + dt.timedelta(minutes=minutes)).isoformat()
    response = api.post("/api/v1/staff/amy/duty", json={"status": "away", "until": until})
    assert response.status_code == 200, response.get_json()


def notices(phone):
    """The distinct re-tellings a phone was sent (each would show one notice)."""
    states = [m["args"][0] for m in phone.get_received("/ticket") if m["name"] == "ticket"]
    return states, {s["wait_retold_at"] for s in states if s["wait_retold_at"]}


def test_a_move_past_the_threshold_gives_exactly_one_phone_notice_and_one_desk_prompt(app, api, query):
    current = walk_in(api, "赵一", "13900000001", consultant="amy")
    for to in ("called", "with_consultant"):
        api.post(f"/api/v1/visits/{current['id']}/transition", json={"to": to})
    mine = walk_in(api, "张晓华", "13900000002", consultant="amy")
    assert 18 <= mine["expected_wait_minutes"] <= 22  # amy's visitor in front: a peel
    with app.test_request_context():
        phone = socketio.test_client(app, namespace="/ticket", auth={"token": ticket_token(mine["id"])})
    desk = Staffer(app, "desk")

    amy_away_for(api, 25)  # about 5 minutes later than told: under the 10-minute threshold
    states, told_again = notices(phone)
    assert states and told_again == set()
    assert "data-retell" not in desk.get("/admin/").get_data(as_text=True)

    amy_away_for(api, 45)  # now about 25 minutes later: over it
    walk_in(api, "钱二", "13900000003", service="eyelid")  # and another change after: no second notice
    states, told_again = notices(phone)
    assert len(told_again) == 1
    latest = states[-1]
    assert 44 <= latest["expected_wait_minutes"] <= 46 and latest["expected_wait_max_minutes"] >= 45

    panel = desk.get("/admin/").get_data(as_text=True)
    assert panel.count("data-retell") == 1
    assert "告诉 张*华：现在约 " in panel  # the masked name and the new range, in the desk's language

    told = desk.post(f"/admin/visits/{mine['id']}/told")
    assert told.status_code == 200 and "data-retell" not in told.get_data(as_text=True)
    assert desk.post(f"/admin/visits/{mine['id']}/told").status_code == 409  # nothing left to tell
    assert query(lambda s: s.query(AuditEntry).filter_by(action="wait_told").count()) == 1
    # The phone page itself says when the wait was updated.
    page = app.test_client().get(mine["ticket_url"]).get_data(as_text=True)
    assert "您的预计等候时间已于" in page and "预计等候：约 " in page and "最多 " in page


def test_the_threshold_is_the_clinics_setting(app, api, query):
    def lower(session):
        session.query(ClinicSettings).one().retell_threshold_minutes = 3
        session.commit()

    query(lower)
    current = walk_in(api, "赵一", "13900000001", consultant="amy")
    for to in ("called", "with_consultant"):
        api.post(f"/api/v1/visits/{current['id']}/transition", json={"to": to})
    mine = walk_in(api, "张晓华", "13900000002", consultant="amy")
    with app.test_request_context():
        phone = socketio.test_client(app, namespace="/ticket", auth={"token": ticket_token(mine["id"])})
    amy_away_for(api, 25)  # 5 minutes: over a 3-minute threshold
    _, told_again = notices(phone)
    assert len(told_again) == 1


def test_catching_up_takes_only_what_is_newer_than_what_this_process_knows(app, api, frozen_clock):
    """Another process's re-telling (a write that raises no version) is copied onto the kept visits;
    a re-telling older than what this process already holds (its own, not yet committed when the
    row was read) never replaces it."""
    from sqlalchemy import update

    from lobby import queue_state
    from lobby.domain import retell
    from lobby.extensions import db
    from lobby.models import Visit

    first, second = walk_in(api, "赵一", "13900000001"), walk_in(api, "钱二", "13900000002")
    later = frozen_clock.now + dt.timedelta(minutes=5)
    with app.app_context():
        snapshot = queue_state.current(board=False).snapshot
        kept = {v.public_id: v for v in snapshot.waiting}
        for public_id, minutes in ((first["id"], 40), (second["id"], 50)):
            db.session.execute(update(Visit).where(Visit.public_id == public_id).values(
                told_wait_minutes=minutes, told_at=later, retold_at=later, desk_must_tell=True))
        db.session.commit()
        newer = later + dt.timedelta(minutes=1)
        kept[second["id"]].told_at, kept[second["id"]].told_wait_minutes = newer, 55  # this process's own
        assert retell.catch_up(db.session, snapshot) == 1
    assert (kept[first["id"]].told_wait_minutes, kept[first["id"]].told_at) == (40, later)
    assert kept[first["id"]].desk_must_tell
    assert (kept[second["id"]].told_wait_minutes, kept[second["id"]].told_at) == (55, newer)
