"""Outbound webhooks: signed JSON POSTs to a real receiver on a loopback port, sent after the commit,
retried with back-off from the outbox table, surviving a kill -9 of the server; and the settings page
where an admin manages them."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from lobby import webhook_sender
from lobby.database import unit_of_work
from lobby.domain import outbox, visits, webhooks
from lobby.extensions import db
from lobby.models import (
    AuditEntry,
    ClinicSettings,
    Visit,
    WebhookDelivery,
    WebhookEndpoint,
)

from .factories import ACTOR, MORNING
from .serverproc import ServerProcess, free_port
from .test_admin import Staffer
from .test_outcomes import WALK_IN, agreed_to_contact, in_consultation


class Receiver:
    """The clinic's CRM, played by a real HTTP server on a loopback port: it keeps every request,
    answers `status`, and makes requests after the first `hold_after` wait until `release` is set."""

    def __init__(self):
        self.requests: list[SimpleNamespace] = []
        self.status = 200
        self.hold_after: int | None = None
        self.release = threading.Event()
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.arrived:
                    receiver.requests.append(SimpleNamespace(path=self.path, headers=dict(self.headers), body=body,
                                                             json=json.loads(body)))
                    number = len(receiver.requests)
                    receiver.arrived.notify_all()
                if receiver.hold_after is not None and number > receiver.hold_after:
                    receiver.release.wait(30)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # the sender that asked was killed: nobody reads the answer

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def wait_for(self, count: int, timeout: float = 10) -> list[SimpleNamespace]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.requests) >= count, timeout), \
                f"{len(self.requests)} request(s) arrived, not {count}"
            return list(self.requests)

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


def wait_until(check, timeout: float = 10, interval: float = 0.05):
    """Poll `check` until it is true or the deadline passes (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(interval)


def add_endpoint(query, url, events=(), personal_data=False):
    def add(session):
        with unit_of_work(session):
            endpoint = webhooks.add_endpoint(session, url, list(events), personal_data, actor=ACTOR)
        return SimpleNamespace(id=endpoint.id, secret=endpoint.secret)

    return query(add)


def signed_by(secret: str, request) -> bool:
    """The receiver's check, as the README tells it."""
    message = request.headers["X-Lobby-Timestamp"].encode() + b"." + request.body
    expected = "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, request.headers["X-Lobby-Signature"])


def deliveries(query):
    return query(lambda s: [SimpleNamespace(delivery_id=d.delivery_id, event=d.event, attempts=d.attempts,
                                            delivered_at=d.delivered_at, next_attempt_at=d.next_attempt_at,
                                            claimed_until=d.claimed_until, last_status=d.last_status,
                                            last_error=d.last_error, payload=d.payload)
                            for d in s.query(WebhookDelivery).order_by(WebhookDelivery.id)])


def send(app, now, **kw):
    with app.app_context():
        return webhook_sender.send_due(db.engine, now=now, **kw)


def test_the_sender_is_not_started_in_tests_unless_asked(app):
    assert app.config["WEBHOOKS_SEND"] is False and "lobby_webhooks" not in app.extensions


def test_finishing_a_visit_sends_its_events_once_signed_with_personal_data_only_where_allowed(
        app, api, query, receiver, frozen_clock):
    plain = add_endpoint(query, receiver.url("/plain"))
    personal = add_endpoint(query, receiver.url("/personal"), events=["visit.finished", "visit.outcome"],
                            personal_data=True)
    # A long poll: only the wake-up right after the commit can deliver within the test's deadline.
    sender = webhook_sender.Sender(app, poll=600).start()
    try:
        visit, path = in_consultation(api)
        agreed_to_contact(query, visit)  # personal data goes only about a client who agreed
        assert receiver.requests == []  # checking in and calling send nothing
        assert api.post(path, json={"to": "done", "outcome": "deal"}).status_code == 200
        receiver.wait_for(4)
        assert wait_until(lambda: all(d.delivered_at for d in deliveries(query)))
    finally:
        sender.stop()

    assert send(app, MORNING + dt.timedelta(days=1)) == {}  # nothing left to send: each went once
    rows = {d.delivery_id: d for d in deliveries(query)}
    assert len(rows) == 4 and len(receiver.requests) == 4
    for path_name, endpoint in (("/plain", plain), ("/personal", personal)):
        got = [r for r in receiver.requests if r.path == path_name]
        assert sorted(r.json["event"] for r in got) == ["visit.finished", "visit.outcome"]
        for request in got:
            assert signed_by(endpoint.secret, request)
            assert not signed_by("another secret", request)
            assert request.headers["Content-Type"] == "application/json"
            assert request.headers["X-Lobby-Event"] == request.json["event"]
            assert request.headers["X-Lobby-Delivery"] == request.json["delivery"]
            assert rows[request.json["delivery"]].event == request.json["event"]
            data = request.json["data"]
            assert (data["visit"], data["ticket"], data["outcome"]) == (visit["id"], "A001", "deal")
            if endpoint is personal:
                assert data["name"] == "李雪" and data["phone"] == "+86" + WALK_IN["phone"]
            else:
                assert "name" not in data and "phone" not in data
                assert "李雪" not in request.body.decode() and WALK_IN["phone"] not in request.body.decode()
    # Once delivered, the outbox keeps no personal data.
    assert all("name" not in d.payload["data"] and "phone" not in d.payload["data"] for d in rows.values())


def test_a_rolled_back_change_sends_nothing(app, api, query, receiver, frozen_clock):
    add_endpoint(query, receiver.url())
    visit, path = in_consultation(api)

    def finish_then_roll_back(session):
        stored = session.query(Visit).filter_by(public_id=visit["id"]).one()
        visits.move(session, stored, "done", actor=ACTOR, outcome="deal")
        session.flush()
        assert session.query(WebhookDelivery).count() == 2  # written inside the change's transaction
        session.rollback()
        assert webhooks.QUEUED not in session.info  # and no wake-up for the sender

    query(finish_then_roll_back)
    # Refused through the API: no row either.
    assert api.post(path, json={"to": "done", "outcome": "deal", "next_contact": "2026-03-01"}).status_code == 422
    assert deliveries(query) == []
    assert send(app, MORNING + dt.timedelta(hours=1)) == {}
    assert receiver.requests == []


def test_a_failing_receiver_is_retried_with_growing_back_off_then_delivered(app, api, query, receiver,
                                                                            frozen_clock):
    receiver.status = 500
    endpoint = add_endpoint(query, receiver.url())
    query(lambda s: (webhooks.queue_test(s, s.get(WebhookEndpoint, endpoint.id), actor=ACTOR), s.commit()))
    now, waits = MORNING, []
    for attempt in range(1, 10):
        assert send(app, now) == {outbox.RETRYING: 1}
        (row,) = deliveries(query)
        assert (row.attempts, row.last_status, row.delivered_at) == (attempt, 500, None)
        waits.append((row.next_attempt_at - now).total_seconds())
        assert send(app, row.next_attempt_at - dt.timedelta(seconds=1)) == {}  # not yet due
        now = row.next_attempt_at
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]

    receiver.status = 200
    assert send(app, now) == {outbox.DELIVERED: 1}
    (row,) = deliveries(query)
    assert row.attempts == 10 and row.delivered_at == now and row.last_error is None
    assert {r.headers["X-Lobby-Delivery"] for r in receiver.requests} == {row.delivery_id}  # one id, every try
    assert len(receiver.requests) == 10
    assert all(signed_by(endpoint.secret, r) for r in receiver.requests)


def test_a_delivery_fails_after_its_last_attempt_until_an_admin_retries_it(app, api, query, receiver,
                                                                          frozen_clock):
    receiver.status = 503
    endpoint = add_endpoint(query, receiver.url())
    query(lambda s: (webhooks.queue_test(s, s.get(WebhookEndpoint, endpoint.id), actor=ACTOR), s.commit()))
    now = MORNING
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        assert send(app, now) == {outbox.RETRYING: 1}
        now = deliveries(query)[0].next_attempt_at
    assert send(app, now) == {outbox.FAILED: 1}
    assert send(app, now + dt.timedelta(days=7)) == {}  # given up: never sent again by itself
    (row,) = deliveries(query)
    assert row.attempts == outbox.MAX_ATTEMPTS and row.delivered_at is None and row.last_error.startswith("HTTP 503")

    admin = Staffer(app, "admin")
    page = admin.client.get("/admin/settings?section=webhooks").get_data(as_text=True)
    assert f'data-delivery="{row.delivery_id}" data-state="failed"' in page
    receiver.status = 204
    retried = admin.client.post(f"/admin/settings/webhooks/deliveries/{row.delivery_id}/retry",
                                data={"csrf_token": admin.csrf})
    assert retried.status_code == 200
    assert send(app, frozen_clock.now) == {outbox.DELIVERED: 1}
    assert deliveries(query)[0].delivered_at is not None
    assert query(lambda s: s.query(AuditEntry).filter_by(action="webhook_retried").count()) == 1


def test_an_unreachable_or_slow_receiver_is_retried(app, api, query, receiver, frozen_clock):
    nobody = add_endpoint(query, f"http://127.0.0.1:{free_port()}/nobody-listens")
    slow = add_endpoint(query, receiver.url("/slow"))

    def queue(session):
        for endpoint_id in (slow.id, nobody.id, nobody.id):
            webhooks.queue_test(session, session.get(WebhookEndpoint, endpoint_id), actor=ACTOR)
        session.commit()

    query(queue)
    receiver.hold_after = 0  # the receiver takes longer than the sender waits
    # One try each: the endpoint that did not answer is left alone for the rest of the round.
    assert send(app, MORNING, timeout=0.5) == {outbox.RETRYING: 2}
    receiver.release.set()
    timed_out, refused, untried = deliveries(query)
    assert timed_out.last_status is None and "timed out" in timed_out.last_error.lower()
    assert refused.last_status is None and "refused" in refused.last_error.lower()
    assert refused.next_attempt_at == timed_out.next_attempt_at == MORNING + dt.timedelta(seconds=30)
    assert (untried.attempts, untried.next_attempt_at) == (0, MORNING)  # still due: the next round tries it


def test_the_cli_sends_what_is_due(app, api, query, receiver):
    endpoint = add_endpoint(query, receiver.url())
    query(lambda s: (webhooks.queue_test(s, s.get(WebhookEndpoint, endpoint.id), actor=ACTOR), s.commit()))
    result = app.test_cli_runner().invoke(args=["send-webhooks", "--once"])
    assert result.exit_code == 0 and "1 delivered" in result.output
    assert receiver.wait_for(1)[0].json["event"] == webhooks.TEST_EVENT


def post_json(server, path, body, key):
    request = urllib.request.Request(server.url + path, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_the_outbox_survives_a_kill_9_in_the_middle_of_a_delivery(app, api, query, receiver, tmp_path):
    def open_all_day(session):
        session.query(ClinicSettings).one().open_all_day = True  # the server runs on the real clock
        session.commit()

    query(open_all_day)
    add_endpoint(query, receiver.url())
    env = {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "webhook-crash-test",
           "LOBBY_INSTANCE_PATH": str(tmp_path / "server-instance")}
    receiver.hold_after = 2  # two answered at once; the third waits: the server dies sending it
    server = ServerProcess(env).start()
    try:
        paths = []
        for i, (consultant, service) in enumerate([("amy", "peel"), ("bea", "peel"), ("cai", "eyelid"),
                                                    ("dan", "nose")]):
            visit = post_json(server, "/api/v1/visits", {"name": f"客户{i}", "phone": f"1390013900{i}",
                                                         "kind": "walk-in", "service": service,
                                                         "consultant": consultant}, api.key)
            paths.append(f"/api/v1/visits/{visit['id']}/transition")
            for target in ("called", "with_consultant"):
                post_json(server, paths[-1], {"to": target}, api.key)
        for path in paths:  # the four finishes queue eight deliveries in quick succession
            post_json(server, path, {"to": "done", "outcome": "thinking"}, api.key)
        in_flight = receiver.wait_for(3)[2].headers["X-Lobby-Delivery"]
    finally:
        server.kill()
    receiver.release.set()

    before = {d.delivery_id: d for d in deliveries(query)}
    assert len(before) == 8
    assert sum(1 for d in before.values() if d.delivered_at) == 2
    assert before[in_flight].delivered_at is None and before[in_flight].claimed_until is not None

    with ServerProcess(env):  # the same database: the outbox is still there
        assert wait_until(lambda: all(d.delivered_at for d in deliveries(query)), timeout=60), \
            "not every delivery was delivered after the restart"
    received = [r.headers["X-Lobby-Delivery"] for r in receiver.requests]
    assert set(received) == set(before)  # every event reached the receiver...
    assert len(received) - len(set(received)) <= 1  # ...and only the one in flight may come twice


# --- The settings page ------------------------------------------------------------------------------

def test_an_admin_adds_an_endpoint_and_sees_the_delivery_log(app, api, query, receiver, frozen_clock):
    admin = Staffer(app, "admin")

    def post(path, **data):
        return admin.client.post(path, data={"csrf_token": admin.csrf, **data})

    refused = post("/admin/settings/webhooks/endpoints", url="ftp://crm.example/x", events="visit.finished")
    assert refused.status_code == 422
    assert 'id="url-error"' in refused.get_data(as_text=True) and query(lambda s: s.query(WebhookEndpoint).count()) == 0
    assert post("/admin/settings/webhooks/endpoints", url=receiver.url(), events="no.such").status_code == 422

    added = post("/admin/settings/webhooks/endpoints", url=receiver.url("/crm?token=abc"), events="visit.finished")
    assert added.status_code == 200
    endpoint = query(lambda s: s.query(WebhookEndpoint).one())
    assert (endpoint.events, endpoint.personal_data, endpoint.active) == (["visit.finished"], False, True)
    page = added.get_data(as_text=True)
    assert endpoint.secret in page and '<details class="wh-secret" open' in page  # to copy into the CRM
    entry = query(lambda s: s.query(AuditEntry).filter_by(action="webhook_added").one().detail)
    assert entry["host"] == f"127.0.0.1:{receiver.server.server_address[1]}" and "token" not in json.dumps(entry)

    assert post(f"/admin/settings/webhooks/{endpoint.id}/test").status_code == 200
    visit, path = in_consultation(api)
    api.post(path, json={"to": "done", "outcome": "no_deal"})
    log = admin.client.get("/admin/settings?section=webhooks").get_data(as_text=True)
    assert log.count('data-state="queued"') == 2  # the test event and visit.finished (not subscribed: outcome)
    assert send(app, frozen_clock.now) == {outbox.DELIVERED: 2}
    log = admin.client.get("/admin/settings?section=webhooks").get_data(as_text=True)
    assert log.count('data-state="delivered"') == 2

    assert post(f"/admin/settings/webhooks/{endpoint.id}/active", active="0").status_code == 200
    assert query(lambda s: s.query(WebhookEndpoint).one().active) is False
    assert post(f"/admin/settings/webhooks/{endpoint.id}/test").status_code == 409  # turned off
    assert post(f"/admin/settings/webhooks/{endpoint.id}/delete").status_code == 200
    assert query(lambda s: (s.query(WebhookEndpoint).count(), s.query(WebhookDelivery).count())) == (0, 0)
    assert post("/admin/settings/webhooks/999/delete").status_code == 404
    actions = query(lambda s: [e.action for e in s.query(AuditEntry).filter(AuditEntry.action.like("webhook%"))
                               .order_by(AuditEntry.id)])
    assert actions == ["webhook_added", "webhook_test", "webhook_turned_off", "webhook_deleted"]


def test_only_admins_manage_webhooks(app, api, query, receiver):
    endpoint = add_endpoint(query, receiver.url())
    desk = Staffer(app, "desk")
    assert desk.client.get("/admin/settings?section=webhooks").status_code == 403
    for path in ("/admin/settings/webhooks/endpoints", f"/admin/settings/webhooks/{endpoint.id}/delete"):
        assert desk.client.post(path, data={"csrf_token": desk.csrf, "url": receiver.url()}).status_code == 403
    admin = Staffer(app, "admin")
    assert admin.client.post(f"/admin/settings/webhooks/{endpoint.id}/delete").status_code == 400  # no CSRF token
    assert query(lambda s: s.query(WebhookEndpoint).count()) == 1
    page = admin.client.get("/admin/settings?section=webhooks").get_data(as_text=True)
    assert re.search(r'<a href="/admin/settings\?section=webhooks" class="active">', page)


def test_a_client_who_refused_contact_is_sent_without_her_name_and_phone(app, api, query, frozen_clock):
    add_endpoint(query, "http://127.0.0.1:9/crm", personal_data=True)
    agreed, agreed_path = in_consultation(api)
    agreed_to_contact(query, agreed)
    api.post(agreed_path, json={"to": "done", "outcome": "thinking"})
    frozen_clock.advance(days=1)  # she comes back and, this time, says no to being contacted
    again, again_path = in_consultation(api)
    agreed_to_contact(query, again, agreed=False)
    api.post(again_path, json={"to": "done", "outcome": "deal"})
    sent = query(lambda s: [(d.payload["data"]["visit"], "phone" in d.payload["data"])
                            for d in s.query(WebhookDelivery).order_by(WebhookDelivery.id)])
    assert sent == [(agreed["id"], True), (agreed["id"], True), (again["id"], False), (again["id"], False)]
