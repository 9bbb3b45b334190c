"""Every write the desk, the kiosk and the API make is done once per idempotency key: a repeat gets
the first answer again; a key answers only its owner and its own request; a failed write frees its
key; the key and its kept answer go when the day is closed, and an erasure blanks kept answers."""

from sqlalchemy import func, select

from lobby.domain import dayclose
from lobby.domain.privacy_lifecycle import erase_client
from lobby.models import RequestKey, Staff, Visit, VisitKind, VisitStatus

from .test_kiosk import QUESTIONNAIRE, Kiosk, hidden, walk_in_details
from .test_realtime import login, walk_in


def staff_id(query, username):
    return query(lambda s: s.scalar(select(Staff.id).where(Staff.username == username)))


def called(query):
    return query(lambda s: sorted(s.scalars(select(Visit.ticket).where(Visit.status == VisitStatus.CALLED))))


def call_next(web, token, consultant, key=None):
    headers = {"HX-Request": "true", "X-CSRFToken": token, **({"Idempotency-Key": key} if key else {})}
    return web.post("/admin/call-next", data={"consultant": consultant}, headers=headers)


def test_the_desk_calling_next_twice_with_one_key_calls_one_visitor(app, api, query, frozen_clock):
    walk_in(api)
    walk_in(api, name="李雪", phone="13900139000")
    web, token = login(app)
    amy = staff_id(query, "amy")

    first = call_next(web, token, amy, key="desk-call-0001")
    again = call_next(web, token, amy, key="desk-call-0001")  # the answer was lost: the button sent again
    assert first.status_code == again.status_code == 200
    assert called(query) == ["A001"]
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert again.get_data() == first.get_data()

    # A new click is a new key: the next visitor (for the next free consultant).
    assert call_next(web, token, staff_id(query, "bea"), key="desk-call-0002").status_code == 200
    assert called(query) == ["A001", "A002"]


def test_a_key_is_its_owners_and_answers_only_the_same_request(app, api, query, frozen_clock):
    walk_in(api)
    walk_in(api, name="李雪", phone="13900139000")
    desk, desk_token = login(app)
    amy_web, amy_token = login(app, "amy")
    assert call_next(desk, desk_token, staff_id(query, "amy"), key="shared-key-1").status_code == 200

    # Another person's key of the same spelling is theirs: their own call, never the desk's answer.
    theirs = call_next(amy_web, amy_token, staff_id(query, "amy"), key="shared-key-1")
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.status_code == 409 and called(query) == ["A001"]  # amy has a visitor called already

    def duty(status, key):
        return desk.post(f"/admin/rotation/{staff_id(query, 'bea')}/duty", data={"status": status},
                         headers={"HX-Request": "true", "X-CSRFToken": desk_token, "Idempotency-Key": key})

    other_request = duty("away", "shared-key-1")
    assert other_request.status_code == 422
    assert "请求编号已用于另一项操作" in other_request.get_data(as_text=True)  # in the desk's language
    assert duty("away", "duty-key-01").status_code == 200
    other_content = duty("off", "duty-key-01")  # the same key, another choice: not done, and said
    assert other_content.status_code == 422
    assert query(lambda s: s.scalars(select(Staff.duty_status).where(Staff.username == "bea")).one()).value == "away"

    bad = call_next(desk, desk_token, staff_id(query, "bea"), key="short")
    assert bad.status_code == 400
    assert called(query) == ["A001"]


def test_an_answer_that_could_not_be_kept_still_goes_out(app, api, query, frozen_clock):
    """The change is saved with its key; keeping its answer fails (the database refuses): the answer
    still goes out, and a repeat is told the request was received, never done twice."""
    from sqlalchemy import event

    from lobby.extensions import db

    walk_in(api)
    walk_in(api, name="李雪", phone="13900139000")
    web, token = login(app)

    def refuse_keeping(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("UPDATE request_keys"):
            raise RuntimeError("the database refused")

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", refuse_keeping)
    try:
        first = call_next(web, token, staff_id(query, "amy"), key="kept-not-001")
        again = call_next(web, token, staff_id(query, "amy"), key="kept-not-001")
    finally:
        event.remove(engine, "before_cursor_execute", refuse_keeping)
    assert first.status_code == 200 and "A001" in first.get_data(as_text=True)
    assert again.status_code == 409 and again.headers["HX-Reswap"] == "none"
    assert called(query) == ["A001"]


def test_registering_a_lobby_tablet_takes_no_key(app, api, query):
    """Its answer is a cookie: a repeat must register again, not answer without it."""
    web, token = login(app, "admin")
    headers = {"X-CSRFToken": token, "Idempotency-Key": "kiosk-register-1"}
    for _ in range(2):
        response = web.post("/admin/settings/kiosk/register", headers=headers)
        assert response.status_code == 200 and "lobby_kiosk=" in response.headers.get("Set-Cookie", "")
    assert query(lambda s: s.scalar(select(func.count()).select_from(RequestKey))) == 0


def test_a_write_that_failed_leaves_its_key_free_for_the_retry(app, api, query, frozen_clock):
    web, token = login(app)
    amy = staff_id(query, "amy")
    nobody = call_next(web, token, amy, key="retry-after-409")
    assert nobody.status_code == 409  # nobody waiting: nothing saved, the key with it
    assert query(lambda s: s.scalar(select(func.count()).select_from(RequestKey))) == 0
    walk_in(api)
    assert call_next(web, token, amy, key="retry-after-409").status_code == 200
    assert called(query) == ["A001"]


def test_an_integration_retrying_call_next_gets_the_same_visitor(api, query, frozen_clock):
    walk_in(api)
    walk_in(api, name="李雪", phone="13900139000")
    headers = {"Idempotency-Key": "api-call-next-1"}
    first = api.post("/api/v1/consultants/amy/call-next", headers=dict(headers))
    again = api.post("/api/v1/consultants/amy/call-next", headers=dict(headers))
    assert first.status_code == again.status_code == 200
    assert first.get_json()["ticket"] == again.get_json()["ticket"] == "A001"
    assert again.headers["Content-Type"] == "application/json"
    assert called(query) == ["A001"]
    reused = api.post("/api/v1/consultants/bea/call-next", headers=dict(headers))
    assert reused.status_code == 422 and reused.get_json()["error"]["code"] == "idempotency_key_reused"


def test_the_kiosk_adds_a_companion_once_per_key(app, api, query, frozen_clock):
    kiosk = Kiosk(app)
    carry = hidden(kiosk.get("/kiosk/step/walk-in").get_data(as_text=True))
    details = kiosk.post("/kiosk/details", {**carry, **walk_in_details(app)})
    kiosk.post("/kiosk/finish", {**hidden(details.get_data(as_text=True)), **QUESTIONNAIRE})

    def add_companion():
        return kiosk.client.post("/kiosk/companion", data={"ticket": "A001"}, headers={
            "HX-Request": "true", "X-CSRFToken": kiosk.csrf, "Idempotency-Key": "kiosk-companion-1"})

    first, again = add_companion(), add_companion()
    assert first.status_code == again.status_code == 200
    assert again.get_data() == first.get_data()
    companions = query(lambda s: s.scalar(select(func.count()).select_from(Visit).where(
        Visit.kind == VisitKind.COMPANION)))
    assert companions == 1


def test_keys_go_with_their_day_and_an_erasure_blanks_kept_answers(app, api, query, frozen_clock):
    visit = walk_in(api)
    web, token = login(app)
    assert call_next(web, token, staff_id(query, "amy"), key="day-one-call").status_code == 200
    kept = query(lambda s: s.scalars(select(RequestKey)).one())
    assert kept.status == 200 and "A001" in kept.body.decode()

    def finish_and_erase(session):
        stored = session.scalars(select(Visit).where(Visit.public_id == visit["id"])).one()
        stored.status = VisitStatus.DONE
        erase_client(session, stored.client, actor=dayclose.SYSTEM)
        session.commit()

    query(finish_and_erase)
    blanked = query(lambda s: s.scalars(select(RequestKey)).one())
    assert blanked.body is None and blanked.status is None
    repeat = call_next(web, token, staff_id(query, "amy"), key="day-one-call")
    assert repeat.status_code == 409 and "欧阳" not in repeat.get_data(as_text=True)

    frozen_clock.advance(days=1)
    query(lambda s: (dayclose.close_past_days(s, actor=dayclose.SYSTEM), s.commit()))
    assert query(lambda s: s.scalar(select(func.count()).select_from(RequestKey))) == 0
    # The next day, a key of its own is kept again.
    walk_in(api, name="李雪", phone="13900139000")
    assert call_next(web, token, staff_id(query, "amy"), key="day-two-call").status_code == 200
    assert query(lambda s: list(s.scalars(select(RequestKey.key)))) == ["day-two-call"]
