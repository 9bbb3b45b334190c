"""The queue read once per change and shared: the publish, the API's answer, every board connecting
and every phone take the same state, kept by the queue's version — a number raised in the
transaction of each change, so no screen ever goes back, whichever process made the change."""

import json
import re
import threading
import urllib.request

import pytest
from sqlalchemy import select, update

from lobby import queue_state
from lobby.database import WRITE_OPTION, unit_of_work
from lobby.domain import visits, waits
from lobby.extensions import db
from lobby.models import Visit

from .factories import ACTOR
from .serverproc import ServerProcess
from .test_realtime import display_client, received, walk_in


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    return frozen_clock


def version(query):
    return query(queue_state.read_version)


def test_each_change_raises_the_version_and_a_rolled_back_one_does_not(app, api, query):
    before = version(query)
    visit = walk_in(api)
    after_check_in = version(query)
    assert after_check_in > before
    # A refused transition changes nothing: the version stays.
    assert api.post(f"/api/v1/visits/{visit['id']}/transition", json={"to": "done"}).status_code == 409
    assert version(query) == after_check_in

    def rolled_back(session):
        try:
            with unit_of_work(session):
                visits.move(session, session.query(Visit).one(), "called", actor=ACTOR)
                raise RuntimeError("the request failed after the change")
        except RuntimeError:
            pass
    query(rolled_back)
    assert version(query) == after_check_in
    assert api.post("/api/v1/consultants/amy/call-next").status_code == 200
    assert version(query) == after_check_in + 1


@pytest.mark.parametrize("change, runs_per_change", [("check_in", 0), ("call_next", 1), ("transition", 1)])
def test_a_change_reads_no_queue_and_runs_the_day_at_most_once(app, api, query, change, runs_per_change):
    """No change reads the queue afresh: a check-in's newcomer is added to the day already
    simulated; a call or a finish reads the visit it changed and runs the day again once, for its
    publish and its answer together."""
    visit = walk_in(api, name="李雪", phone="13900139000")
    reads, runs = queue_state.reads, queue_state.completions
    if change == "check_in":
        response = api.post("/api/v1/visits", json={"name": "王五", "phone": "13700137000", "kind": "walk-in",
                                                    "service": "peel"})
        assert response.get_json()["position"] >= 1  # the answer is read after the change
    elif change == "call_next":
        response = api.post("/api/v1/consultants/amy/call-next")
    else:
        response = api.post(f"/api/v1/visits/{visit['id']}/transition", json={"to": "left"})
    assert response.status_code in (200, 201)
    assert (queue_state.reads, queue_state.completions) == (reads, runs + runs_per_change)
    assert api.get("/api/v1/queue").status_code == 200  # and asking again costs nothing more
    assert (queue_state.reads, queue_state.completions) == (reads, runs + runs_per_change)


def test_boards_connecting_take_the_kept_board_and_render_once_per_room(app, api, monkeypatch):
    walk_in(api)
    from display import publisher

    renders = []
    render = publisher.render_board
    monkeypatch.setattr(publisher, "render_board", lambda *a: renders.append(a) or render(*a))
    reads = queue_state.reads
    boards = [display_client(app) for _ in range(20)] + [display_client(app, lang="en") for _ in range(5)]
    htmls = {received(board, "/display", "board")[0]["args"][0]["html"] for board in boards}
    assert len(htmls) == 2 and any("A001" in html for html in htmls)
    # The check-in's publish read the queue and rendered each board room: connecting costs neither.
    assert renders == [] and queue_state.reads == reads
    # A board reconnecting gets the same kept board.
    boards[0].disconnect(namespace="/display")
    again = display_client(app)
    assert received(again, "/display", "board")[0]["args"][0]["html"] in htmls
    assert renders == [] and queue_state.reads == reads
    # The next change is read and rendered once (its publish); the boards of a line connecting take it.
    walk_in(api, name="王五", phone="13700137000")
    # (a check-in grows the kept state: no read at all)
    assert queue_state.reads == reads and len(renders) == 8  # 4 rooms (all and each line) × 2 languages
    for _ in range(10):
        display_client(app, line="skin")
    assert queue_state.reads == reads and len(renders) == 8


def test_waits_move_with_time_so_a_kept_state_is_run_again_after_a_while(app, api, frozen_clock, monkeypatch):
    """Time passing alone changes waits (a consultation runs longer, a break begins): a kept state
    older than STALE_SECONDS is simulated again from now — without reading the queue again — and
    is then what a fresh read of the queue gives, board included. What raises no version (another
    process re-telling a wait) is caught up once CATCH_UP_SECONDS have passed — still without
    reading the whole queue afresh."""
    from display.publisher import read_state, render_board

    monkeypatch.setattr(queue_state, "CATCH_UP_SECONDS", 3600)

    for i in range(4):
        walk_in(api, name=f"访客{i}", phone=f"1380013{i:04d}")
    assert api.post("/api/v1/consultants/amy/call-next").status_code == 200
    display_client(app)
    reads, retimes = queue_state.reads, queue_state.retimes
    display_client(app)
    assert (queue_state.reads, queue_state.retimes) == (reads, retimes)
    with app.app_context():
        before = queue_state.current()
    frozen_clock.advance(seconds=queue_state.STALE_SECONDS + 1)
    display_client(app)
    assert (queue_state.reads, queue_state.retimes) == (reads, retimes + 1)
    frozen_clock.advance(minutes=25)  # amy's consultation runs long: the waits behind her grow
    with app.app_context():
        later = queue_state.current()
        assert (queue_state.reads, queue_state.retimes) == (reads, retimes + 2)
        assert later.version == before.version and later.now > before.now
        assert later.snapshot.estimates != before.snapshot.estimates
        settings, fresh, board = read_state(db.session, later.now)
        assert later.snapshot.estimates == fresh.estimates
        for lang in ("zh_CN", "en"):
            assert later.board_html(None, lang) == render_board(board, lang, settings)
    # Another process re-tells the last visitor: a write that raises no version.
    last = later.snapshot.waiting[-1]
    with app.app_context():
        told_at = frozen_clock.now
        db.session.execute(update(Visit).where(Visit.id == last.id).values(
            told_wait_minutes=99, told_wait_max_minutes=120, told_at=told_at, retold_at=told_at,
            desk_must_tell=True))
        db.session.commit()
    frozen_clock.advance(seconds=queue_state.STALE_SECONDS + 1)
    with app.app_context():
        unseen = queue_state.current().snapshot.waiting_visit(last.id)
    assert (unseen.told_wait_minutes, unseen.desk_must_tell) != (99, True)  # not yet looked for
    catch_ups = queue_state.catch_ups
    monkeypatch.setattr(queue_state, "CATCH_UP_SECONDS", 60)
    frozen_clock.advance(seconds=60)
    with app.app_context():
        caught = queue_state.current().snapshot.waiting_visit(last.id)
    assert (caught.told_wait_minutes, caught.told_wait_max_minutes, caught.desk_must_tell) == (99, 120, True)
    assert caught.told_at == told_at
    assert (queue_state.reads, queue_state.retimes, queue_state.catch_ups) == (reads, retimes + 4, catch_ups + 1)


def test_the_version_never_goes_back_across_two_processes(api, app, tmp_path, query):
    env = {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "two-processes",
           "LOBBY_INSTANCE_PATH": str(tmp_path / "instance")}
    headers = {"Authorization": f"Bearer {api.key}", "Content-Type": "application/json"}

    def check_in(server, i):
        body = json.dumps({"name": f"访客{i}", "phone": f"1380013{i:04d}", "kind": "walk-in", "service": "peel"})
        request = urllib.request.Request(server.url + "/api/v1/visits", data=body.encode(), headers=headers)
        urllib.request.urlopen(request, timeout=10).read()

    def board_version(server):
        with urllib.request.urlopen(server.url + "/display/", timeout=10) as response:
            return int(re.search(r'data-version="(\d+)"', response.read().decode()).group(1))

    with ServerProcess(env) as first, ServerProcess(env) as second:
        seen = []
        for i in range(6):
            made_on, read_on = (first, second) if i % 2 == 0 else (second, first)
            check_in(made_on, i)
            seen.append(board_version(read_on))  # the other process shows the change at once
        assert seen == sorted(seen) and len(set(seen)) == len(seen)
        assert seen[-1] == version(query)


def test_a_state_grown_by_check_ins_is_the_state_read_afresh(app, api, query, frozen_clock):
    """Check-ins of every kind of visitor, on a queue with a visit in progress and one asked for by
    name: the kept state grown one newcomer at a time gives every estimate, position and board the
    same as reading and simulating the queue again."""
    from display.publisher import read_state, render_board

    first = walk_in(api, name="李雪", phone="13900139000", service="eyelid")
    assert api.post(f"/api/v1/consultants/{first['consultant']}/call-next").status_code == 200
    reads = queue_state.reads
    people = [("peel", None), ("eyelid", None), ("nose", "dan"), ("peel", "bea"), ("sutures", None), ("nose", None)]
    for i, (service, consultant) in enumerate(people):
        frozen_clock.advance(seconds=2)  # (within STALE_SECONDS of the read: no read again for time)
        body = {"name": f"访客{i}", "phone": f"1380013{i:04d}", "kind": "post-op" if service == "sutures" else
                "walk-in", "service": service, **({"consultant": consultant} if consultant else {})}
        assert api.post("/api/v1/visits", json=body).status_code == 201
    assert queue_state.reads == reads  # every one of them grown, none read again

    with app.app_context():
        grown = queue_state.current()
        settings, fresh, board = read_state(db.session, grown.now)
        assert [v.id for v in grown.snapshot.waiting] == [v.id for v in fresh.waiting]
        assert grown.snapshot.estimates == fresh.estimates
        for lang in ("zh_CN", "en"):
            assert grown.board_html(None, lang) == render_board(board, lang, settings)


def test_a_check_in_after_a_quiet_while_runs_the_kept_state_again_and_grows_it(app, api, frozen_clock,
                                                                                 monkeypatch):
    """Nothing changed for longer than STALE_SECONDS, then a visitor checks in: the kept state is
    run again from now (as a board would), before the check-in's write transaction begins, and the
    newcomer added to it — the check-in neither simulates the whole day nor waits for a second
    connection while it holds the write lock. The state it leaves is what a fresh read gives."""
    from display.publisher import read_state

    for i in range(4):
        walk_in(api, name=f"访客{i}", phone=f"1380013{i:04d}")
    display_client(app)
    frozen_clock.advance(seconds=queue_state.STALE_SECONDS + 5)
    simulated, simulate = [], waits.QueueSnapshot.__init__
    monkeypatch.setattr(waits.QueueSnapshot, "__init__",
                        lambda self, *args, **kwargs: simulated.append(1) or simulate(self, *args, **kwargs))
    in_write_transaction, current = [], queue_state.current

    def spied_current(*args, **kwargs):  # asked from inside the check-in's write transaction?
        session = db.session()
        in_write_transaction.append(session.in_transaction() and bool(
            session.connection().get_execution_options().get(WRITE_OPTION)))
        return current(*args, **kwargs)

    monkeypatch.setattr(queue_state, "current", spied_current)
    reads, retimes, completions = queue_state.reads, queue_state.retimes, queue_state.completions
    newcomer = walk_in(api, name="王五", phone="13700137000")
    monkeypatch.setattr(queue_state, "current", current)
    assert simulated == []
    assert in_write_transaction and not any(in_write_transaction)  # brought up to date before it began
    assert (queue_state.reads, queue_state.retimes) == (reads, retimes + 1)
    with app.app_context():
        grown = queue_state.current()
        assert (queue_state.reads, queue_state.completions) == (reads, completions)  # the grown state kept
        assert grown.snapshot.waiting[-1].public_id == newcomer["id"]
        monkeypatch.setattr(waits.QueueSnapshot, "__init__", simulate)
        _, fresh, _ = read_state(db.session, grown.now)
        assert grown.snapshot.estimates == fresh.estimates


def test_a_clients_name_corrected_at_the_desk_shows_on_the_board(app, api):
    """The board shows masked names: correcting a waiting client's name raises the version like any
    change the board shows (nothing else would bring the kept board up to date)."""
    from lobby.domain.privacy import mask_name

    visit = walk_in(api, name="李雪", phone="13800138000")
    old = received(display_client(app), "/display", "board")[-1]["args"][0]["html"]
    assert mask_name("李雪") in old
    with app.app_context():
        version = queue_state.read_version(db.session)
        with unit_of_work(db.session):
            db.session.scalars(select(Visit).where(Visit.public_id == visit["id"])).one().client.name = "欧阳雪"
        assert queue_state.read_version(db.session) == version + 1
    new = received(display_client(app), "/display", "board")[-1]["args"][0]["html"]
    assert mask_name("欧阳雪") in new and mask_name("李雪") not in new


def test_a_check_ins_publish_looks_at_the_newcomer_alone(app, api, monkeypatch):
    """A newcomer comes last and moves nobody else's wait: the publish of a check-in makes one
    phone's state and checks one wait for re-telling, however many wait — not the whole queue on
    every check-in. A call moves the others: they are all looked at again."""
    from lobby.domain import retell
    from ticket import state as phones

    for i in range(8):
        walk_in(api, name=f"访客{i}", phone=f"1380013{i:04d}")
    looked, checked = [], []
    make_state, has_moved = phones.ticket_state, retell.has_moved
    monkeypatch.setattr(phones, "ticket_state", lambda visit, snap: looked.append(visit.public_id) or
                        make_state(visit, snap))
    monkeypatch.setattr(retell, "has_moved", lambda visit, *args: checked.append(visit.id) or
                        has_moved(visit, *args))
    newcomer = walk_in(api, name="王五", phone="13700137000")
    assert looked == [newcomer["id"]]
    assert len(checked) == 1
    looked.clear()
    assert api.post("/api/v1/consultants/amy/call-next").status_code == 200
    assert len(set(looked)) >= 8


def test_a_state_derived_from_calls_and_finishes_is_the_state_read_afresh(app, api, query, frozen_clock):
    """Calls, recalls, a consultation started and handed to the doctor, a skip, a finish, a
    visitor who left, with check-ins in between: each state derived from the one before (the
    changed visits read again, the day run again) gives every estimate, position, duty and board the
    same as reading the queue again — and the queue is never read afresh."""
    from display.publisher import read_state, render_board

    people = [("peel", None), ("eyelid", None), ("nose", "dan"), ("peel", "bea"), ("sutures", None),
              ("nose", None), ("peel", None), ("eyelid", "amy")]
    tickets = []
    for i, (service, consultant) in enumerate(people):
        body = {"name": f"访客{i}", "phone": f"1380013{i:04d}", "kind": "post-op" if service == "sutures" else
                "walk-in", "service": service, **({"consultant": consultant} if consultant else {})}
        response = api.post("/api/v1/visits", json=body)
        assert response.status_code == 201
        tickets.append(response.get_json())
    reads = queue_state.reads

    def move(visit, to, **extra):
        frozen_clock.advance(seconds=1)  # (within STALE_SECONDS of the read: no read again for time)
        response = api.post(f"/api/v1/visits/{visit['id']}/transition", json={"to": to, **extra})
        assert response.status_code == 200, response.get_json()

    def same_as_afresh():
        with app.app_context():
            derived = queue_state.current()
            settings, fresh, board = read_state(db.session, derived.now)
            assert [v.id for v in derived.snapshot.waiting] == [v.id for v in fresh.waiting]
            assert derived.snapshot.estimates == fresh.estimates
            assert {m.id: derived.snapshot.board.of(m) for m in fresh.board.staff} == \
                {m.id: fresh.board.of(m) for m in fresh.board.staff}
            for lang in ("zh_CN", "en"):
                assert derived.board_html(None, lang) == render_board(board, lang, settings)

    called = api.post("/api/v1/consultants/amy/call-next").get_json()
    same_as_afresh()
    move(called, "recalled")
    move(called, "with_consultant")
    same_as_afresh()
    skipped = api.post("/api/v1/consultants/bea/call-next").get_json()
    move(skipped, "no_show")
    same_as_afresh()
    move(called, "with_doctor", doctor="dr_sun")
    same_as_afresh()
    move(skipped, "waiting")  # turned up again
    move(tickets[5], "left")
    same_as_afresh()
    move(called, "done", outcome="deal")
    frozen_clock.advance(seconds=1)
    assert api.post("/api/v1/visits", json={"name": "新客", "phone": "13700137000", "kind": "walk-in",
                                            "service": "peel"}).status_code == 201
    same_as_afresh()
    assert queue_state.reads == reads  # never read afresh: each state derived from the one before


def test_a_check_in_at_the_lobby_tablet_reads_no_queue_either(app, api, query, monkeypatch):
    from lobby.domain import waits

    from .test_kiosk import QUESTIONNAIRE, Kiosk, hidden, walk_in_details

    walk_in(api)  # the kept state, read once
    simulated = []
    read_queue = waits.QueueSnapshot.__init__
    monkeypatch.setattr(waits.QueueSnapshot, "__init__", lambda self, *a, **k: simulated.append(1) or
                        read_queue(self, *a, **k))
    kiosk = Kiosk(app)
    carry = hidden(kiosk.get("/kiosk/step/walk-in").get_data(as_text=True))
    details = kiosk.post("/kiosk/details", {**carry, **walk_in_details(app)})
    ticket = kiosk.post("/kiosk/finish", {**hidden(details.get_data(as_text=True)), **QUESTIONNAIRE})
    assert ticket.status_code == 200 and "A002" in ticket.get_data(as_text=True)
    assert simulated == []  # neither the check-in nor its ticket's wait read the queue


def test_the_desks_live_list_takes_the_kept_state(app, api, query, monkeypatch):
    """The desk's list refreshes after every change on every desk laptop: it reads its rows but not
    the queue (its waits are the ones every other screen shows)."""
    from .test_admin import Staffer

    for i in range(3):
        walk_in(api, name=f"访客{i}", phone=f"1390013900{i}")
    desks = [Staffer(app, "desk") for _ in range(3)]
    api.post("/api/v1/consultants/amy/call-next")
    from lobby.domain import waits

    simulated = []
    read_queue = waits.QueueSnapshot.__init__
    monkeypatch.setattr(waits.QueueSnapshot, "__init__", lambda self, *a, **k: simulated.append(1) or
                        read_queue(self, *a, **k))
    reads, runs = queue_state.reads, queue_state.completions
    pages = [desk.get("/admin/").get_data(as_text=True) for desk in desks]
    assert all("A002" in page and "A003" in page for page in pages)
    # The call's state was run once (for its publish); every desk's refresh took it as it was.
    assert (queue_state.reads, queue_state.completions, simulated) == (reads, runs, [])


BEGUN = "-- a transaction begins"


def test_a_check_in_reads_the_settings_once_and_writes_a_new_client_once(app, api):
    """A check-in's statements are counted: the settings are read once by its transaction (not once
    per question of day, zone and rules), the new client is inserted whole (no UPDATE after), the
    answer reads the visit back in one statement with its line and consultant."""
    from sqlalchemy import event

    walk_in(api)  # the first of the day: warm
    statements = []

    def note(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))
    with app.app_context():
        engine = db.engine
    def began(conn):  # PostgreSQL's BEGIN is implicit: no statement marks it
        statements.append(BEGUN)
    event.listen(engine, "before_cursor_execute", note)
    event.listen(engine, "begin", began)
    try:
        walk_in(api, name="王五", phone="13700137000")
    finally:
        event.remove(engine, "before_cursor_execute", note)
        event.remove(engine, "begin", began)
    wrote = [s for s in statements if s.startswith(("INSERT", "UPDATE"))]
    assert not [s for s in wrote if s.startswith("UPDATE clients")]
    assert len([s for s in wrote if s.startswith("INSERT INTO clients")]) == 1
    begun_before_commit = statements[:next(i for i, s in enumerate(statements) if s.startswith("UPDATE queue_versions"))]
    write = begun_before_commit[max(i for i, s in enumerate(begun_before_commit) if s == BEGUN):]
    statements = [s for s in statements if s != BEGUN]
    assert len([s for s in write if "FROM clinic_settings" in s]) == 1, "\n".join(s[:90] for s in write)
    assert [s for s in statements if "FROM visits LEFT OUTER JOIN lines" in s]  # the answer's read back
    # 45 before the settings and the read-backs were shared (the publish's own included)
    assert len(statements) <= 34, "\n".join(s[:90] for s in statements)


def test_a_call_committed_in_the_middle_of_one_board_read_does_not_break_it(app, api, frozen_clock):
    """PostgreSQL (read committed): the board's query of calls sees a call committed after the same
    read loaded that visit waiting; the visit it holds is the waiting one. It must not fail (it was
    a 500 and a skipped publish); the call shows at the publish its own commit brings."""
    from display.board import build_board
    from lobby.domain import clock
    from lobby.domain.settings import clinic_day
    from lobby.domain.waits import QueueSnapshot

    walk_in(api)
    with app.app_context():
        day = clinic_day(db.session)
        snapshot = QueueSnapshot(db.session, day, clock.utcnow())
        assert [v.ticket for v in snapshot.waiting] == ["A001"]
        held = db.session.query(Visit).all()  # loaded waiting in this read, as the state's read does
        assert [v.called_at for v in held] == [None]
        answers = []  # the call, through another session: a thread has an app context of its own
        caller = threading.Thread(target=lambda: answers.append(api.post("/api/v1/consultants/amy/call-next")))
        caller.start()
        caller.join()
        assert answers[0].status_code == 200
        board = build_board(db.session, snapshot, day, "Clinic", show_masked_names=True)
        assert [c.ticket for c in board.calls] in ([], ["A001"])
