"""Socket.IO: boards, phones and staff panels get the whole state on connect and every change after,
and no public payload ever carries a phone number, a full name or a health answer."""

import json

import pytest

from lobby.extensions import socketio
from lobby.models import ClinicSettings, HealthQuestionnaire, Visit
from lobby.tokens import ticket_token

from .factories import PASSWORD

NAME, PHONE, ANSWER = "欧阳娜娜", "13912345678", "penicillin-anaphylaxis-7731"
_inboxes: dict = {}


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    _inboxes.clear()
    return frozen_clock


def walk_in(api, name=NAME, phone=PHONE, **extra):
    response = api.post("/api/v1/visits", json={"name": name, "phone": phone, "kind": "walk-in",
                                                "service": "peel", **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def received(sio, namespace, name=None):
    """Messages not yet taken, of one event name (or all); others stay for a later look."""
    box = _inboxes.setdefault((id(sio), namespace), [])
    box.extend(sio.get_received(namespace))
    taken = [m for m in box if name is None or m["name"] == name]
    box[:] = [m for m in box if m not in taken]
    return taken


def display_client(app, **auth):
    return socketio.test_client(app, namespace="/display", auth=auth or None)


def test_a_board_gets_the_whole_board_on_connect_and_the_call_after(app, api):
    waiting = walk_in(api)
    board = display_client(app)
    assert board.is_connected("/display")
    first = received(board, "/display", "board")
    assert len(first) == 1 and waiting["ticket"] in first[0]["args"][0]["html"]

    called = api.post("/api/v1/consultants/amy/call-next").get_json()
    calls = received(board, "/display", "call")
    assert [c["args"][0]["ticket"] for c in calls] == [called["ticket"]]
    call = calls[0]["args"][0]
    assert call["room"] == "1" and call["recall"] is False
    assert call["speech"] == "请 A001 号到 1 号咨询室。"
    html = received(board, "/display", "board")[-1]["args"][0]["html"]
    assert 'class="call call-latest" data-ticket="A001"' in html

    api.post(f"/api/v1/visits/{called['id']}/transition", json={"to": "recalled"})
    recall = received(board, "/display", "call")[0]["args"][0]
    assert recall["ticket"] == "A001" and recall["recall"] is True


def test_board_versions_only_grow(app, api):
    board = display_client(app)
    walk_in(api)
    walk_in(api, phone="13912345679")
    versions = [m["args"][0]["version"] for m in received(board, "/display", "board")]
    assert versions == sorted(versions) and len(versions) == 3


def test_a_one_line_board_sees_only_its_line(app, api):
    skin_board = display_client(app, line="A")
    surgery_board = display_client(app, line="surgery")
    received(skin_board, "/display"), received(surgery_board, "/display")
    visit = walk_in(api)  # skin line
    api.post(f"/api/v1/visits/{visit['id']}/transition", json={"to": "called"})
    assert [c["args"][0]["ticket"] for c in received(skin_board, "/display", "call")] == ["A001"]
    assert received(surgery_board, "/display", "call") == []
    assert "A001" not in received(surgery_board, "/display", "board")[-1]["args"][0]["html"]


def test_speech_follows_the_clinic_settings(app, api, query):
    def english(session):
        session.query(ClinicSettings).one().speech_language = "en"
        session.commit()

    query(english)
    board = display_client(app)
    visit = walk_in(api)
    api.post(f"/api/v1/visits/{visit['id']}/transition", json={"to": "called"})
    assert received(board, "/display", "call")[0]["args"][0]["speech"] == \
        "Number A001, please go to consulting room 1."

    def silent(session):
        session.query(ClinicSettings).one().speech_enabled = False
        session.commit()

    query(silent)
    api.post(f"/api/v1/visits/{visit['id']}/transition", json={"to": "recalled"})
    assert received(board, "/display", "call")[0]["args"][0]["speech"] is None


@pytest.mark.parametrize("masked", [True, False])
def test_no_public_payload_carries_a_phone_a_full_name_or_a_health_answer(app, api, query, masked):
    def setup(session):
        session.query(ClinicSettings).one().mask_names_on_board = masked
        session.commit()

    query(setup)
    board = display_client(app)
    en_board = display_client(app, lang="en")
    visit = walk_in(api)

    def answers(session):
        stored = session.query(Visit).filter_by(public_id=visit["id"]).one()
        session.add(HealthQuestionnaire(visit_id=stored.id, answers={"allergies": ANSWER}, flags=["allergy"],
                                        consent_privacy=True))
        session.commit()

    query(answers)
    with app.test_request_context():
        token = ticket_token(visit["id"])
    phone = socketio.test_client(app, namespace="/ticket", auth={"token": token})
    walk_in(api, name="李雪", phone="13900139000")
    api.post("/api/v1/consultants/amy/call-next")
    api.post(f"/api/v1/visits/{visit['id']}/reassign", json={"consultant": "bea", "reason": "prefers bea"})
    api.post(f"/api/v1/visits/{visit['id']}/transition", json={"to": "recalled"})

    payloads = received(board, "/display") + received(en_board, "/display") + received(phone, "/ticket")
    assert len(payloads) >= 10
    text = json.dumps(payloads, ensure_ascii=False)
    for secret in (NAME, PHONE, "+86" + PHONE, ANSWER, "李雪", "13900139000"):
        assert secret not in text
    assert ("欧*娜" in text) is masked


def test_a_phone_gets_only_its_own_ticket(app, api):
    mine = walk_in(api)
    other = walk_in(api, name="李雪", phone="13900139000", consultant="amy")
    with app.test_request_context():
        token = ticket_token(mine["id"])
    phone = socketio.test_client(app, namespace="/ticket", auth={"token": token})
    assert phone.is_connected("/ticket")
    first = received(phone, "/ticket", "ticket")[0]["args"][0]
    assert first["ticket"] == mine["ticket"] and first["status"] == "waiting"
    # Naming another room does nothing: rooms are the server's choice.
    phone.emit("join", {"room": f"ticket:{other['id']}"}, namespace="/ticket")
    phone.emit("join_room", f"ticket:{other['id']}", namespace="/ticket")
    api.post(f"/api/v1/visits/{other['id']}/transition", json={"to": "called"})
    api.post(f"/api/v1/visits/{mine['id']}/transition", json={"to": "called"})
    tickets = {m["args"][0]["ticket"] for m in received(phone, "/ticket", "ticket")}
    assert tickets == {mine["ticket"]}


@pytest.mark.parametrize("auth", [None, {}, {"token": "forged.token.value"}, {"token": 42}])
def test_a_phone_without_a_valid_ticket_token_is_refused(app, api, auth):
    phone = socketio.test_client(app, namespace="/ticket", auth=auth)
    assert not phone.is_connected("/ticket")


def test_a_board_cannot_join_a_phones_room_by_naming_it(app, api):
    visit = walk_in(api)
    board = display_client(app)
    board.emit("join", {"room": f"ticket:{visit['id']}"}, namespace="/display")
    api.post(f"/api/v1/visits/{visit['id']}/transition", json={"to": "called"})
    assert {m["name"] for m in received(board, "/display")} <= {"board", "call"}


def login(app, username="desk"):
    web = app.test_client()
    page = web.get("/admin/login")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = web.post("/admin/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    # A new session at login: the panel carries the token that is valid now.
    panel = web.get("/admin/").get_data(as_text=True)
    return web, panel.split('"X-CSRFToken": "')[1].split('"')[0]


def test_admin_namespace_refuses_anonymous_connections(app, api):
    anonymous = socketio.test_client(app, namespace="/admin", flask_test_client=app.test_client())
    assert not anonymous.is_connected("/admin")


def test_staff_get_pings_until_they_log_out(app, api):
    web, csrf = login(app)
    panel = socketio.test_client(app, namespace="/admin", flask_test_client=web)
    assert panel.is_connected("/admin")
    received(panel, "/admin")
    walk_in(api)
    pings = received(panel, "/admin", "queue-changed")
    assert len(pings) == 1
    assert set(pings[0]["args"][0]) == {"version"}  # a ping, never personal data

    assert web.post("/admin/logout", data={"csrf_token": csrf}).status_code == 302
    # The server drops the panel's socket (it was told "session-ended" first, and the page goes to the login).
    assert not panel.is_connected("/admin")


def test_events_from_clients_cannot_change_the_queue(app, api, query):
    visit = walk_in(api)
    board = display_client(app)
    for event in ("call-next", "transition", "called"):
        board.emit(event, {"id": visit["id"], "to": "called"}, namespace="/display")
    assert query(lambda s: s.query(Visit).filter_by(public_id=visit["id"]).one().status.value) == "waiting"


def test_a_board_may_ask_for_the_whole_state_again_but_not_too_often(app, api, monkeypatch):
    import display.events

    board = display_client(app)
    received(board, "/display")
    board.emit("sync", namespace="/display")
    assert received(board, "/display", "board") == []  # just connected: nothing to do yet
    monkeypatch.setattr(display.events, "SYNC_INTERVAL_SECONDS", 0)
    walk_in_ticket = walk_in(api)["ticket"]
    received(board, "/display")
    board.emit("sync", namespace="/display")
    again = received(board, "/display", "board")
    assert len(again) == 1 and walk_in_ticket in again[0]["args"][0]["html"]


def test_the_board_page_and_its_fragment_share_one_rendering(app, api, client):
    walk_in(api)
    page = client.get("/display/?line=A")
    fragment = client.get("/display/?line=A", headers={"HX-Request": "true"})
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]
    assert "<html" in page.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)
    assert "A001" in fragment.get_data(as_text=True)
    assert fragment.get_data(as_text=True).strip() in page.get_data(as_text=True)


def test_the_chime_is_a_real_sound(client):
    import io
    import wave

    response = client.get("/display/chime.wav")
    assert response.status_code == 200 and response.mimetype == "audio/wav"
    with wave.open(io.BytesIO(response.data)) as sound:
        assert sound.getnchannels() == 1 and 1.5 < sound.getnframes() / sound.getframerate() < 3


def test_the_ticket_page_and_its_poll_fallback(app, api, client):
    first = walk_in(api, consultant="amy")
    mine = walk_in(api, name="李雪", phone="13900139000", consultant="amy")
    page = client.get(mine["ticket_url"])
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert "前面还有 1 位" in text and "李雪" not in text and "13900139000" not in text
    token = mine["ticket_url"].rsplit("/", 1)[1]
    state = client.get(f"/t/{token}/state.json").get_json()
    assert (state["ticket"], state["ahead"], state["expected_wait_minutes"]) == ("A002", 1, 20)
    assert 20 < state["expected_wait_max_minutes"] <= 35 and state["wait_retold_at"] is None
    assert state["almost"] is False  # next after one, but about 20 minutes away
    assert set(state) == {"ticket", "status", "position", "ahead", "almost", "expected_wait_minutes",
                          "expected_wait_max_minutes", "wait_retold_at", "room", "version"}
    first_page = client.get(first["ticket_url"]).get_data(as_text=True)
    assert "快轮到您了" in first_page.split("data-almost")[1].split("</p>")[0]  # next, and soon: shown
    bad = client.get("/t/forged/state.json")
    assert bad.status_code == 404 and bad.get_json()["error"]["code"] == "token_invalid"
    assert client.get("/t/forged").status_code == 404


def test_a_change_reaches_only_the_phones_whose_ticket_it_moved(app, api, query):
    """A check-in comes last: no phone already waiting hears of it. A call moves everyone behind the
    one called: each of their phones, and the called one's, get their new state."""
    from sqlalchemy import update

    from lobby.models import QueueVersion

    visitors = [walk_in(api, name=f"访客{i}", phone=f"1390013900{i}") for i in range(3)]
    phones = [socketio.test_client(app, namespace="/ticket", auth={"token": v["ticket_url"].rsplit("/", 1)[1]})
              for v in visitors]
    for phone in phones:
        assert len(received(phone, "/ticket", "ticket")) == 1  # its state on connect

    newcomer = walk_in(api, name="新客", phone="13700137000")
    assert [received(phone, "/ticket", "ticket") for phone in phones] == [[], [], []]

    def now_shown():
        shown = [app.test_client().get(v["ticket_url"] + "/state.json").get_json() for v in visitors]
        return [{k: v for k, v in state.items() if k != "version"} for state in shown]

    before = now_shown()
    called = api.post("/api/v1/consultants/amy/call-next").get_json()
    assert called["ticket"] == visitors[0]["ticket"]
    after = now_shown()
    got = [[{k: v for k, v in m["args"][0].items() if k != "version"} for m in received(phone, "/ticket", "ticket")]
           for phone in phones]
    assert got == [[state] if state != earlier else [] for state, earlier in zip(after, before)]
    assert got[0] == [after[0]] and after[0]["status"] == "called"
    assert sum(1 for state in got if state) >= 2  # the called one and someone who moved up

    # A change made by another process (its phones heard from it, not from this one): every waiting
    # visitor's phone gets its state again with this process's next publish, the unmoved ones too.
    query(lambda session: (session.execute(update(QueueVersion).values(version=QueueVersion.version + 1)),
                           session.commit()))
    walk_in(api, name="又一位", phone="13700137001")
    assert [len(received(phone, "/ticket", "ticket")) for phone in phones[1:]] == [1, 1]
    assert newcomer["ticket"] != visitors[0]["ticket"]


def test_a_republish_sends_every_screen_its_state_again(app, api):
    """When the message queue returns, each process sends its screens the current state again,
    changed or not: the boards, every waiting phone, and the phone of a visitor already called (the
    call may have been made on another process while the queue was down)."""
    from lobby.realtime import realtime

    visitors = [walk_in(api, name=f"访客{i}", phone=f"1390013900{i}") for i in range(2)]
    api.post("/api/v1/consultants/amy/call-next")
    phones = [socketio.test_client(app, namespace="/ticket", auth={"token": v["ticket_url"].rsplit("/", 1)[1]})
              for v in visitors]
    board = display_client(app)
    for phone in phones:
        received(phone, "/ticket", "ticket")
    received(board, "/display")
    realtime.republish()
    states = [[m["args"][0]["status"] for m in received(phone, "/ticket", "ticket")] for phone in phones]
    assert sorted(states) == [["called"], ["waiting"]]
    assert received(board, "/display", "board")
