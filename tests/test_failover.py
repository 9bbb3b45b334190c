"""Fail-over under load: `kill -9` of one of two server processes, retries on the other.

Two real server processes (gevent, Redis message queue) share one database. Client threads send
a bounded load of API check-ins to process one, each with its own Idempotency-Key. Once a third
of them have been answered, and while requests are on their way, process one is killed with
SIGKILL; one more check-in, of which only half the body was sent, is sure to be cut off. Every
request that got no 2xx (reset, refused, timed out, 5xx) is sent again with the same key to
process two until it is answered. Afterwards the database must hold:

- exactly one visit per key and no other visit: no 2xx lost, no key with two visits;
- for every 2xx answer, process one's just before the kill included, the visit it named, with
  the ticket it named (and a client who lost such an answer and asks process two gets the same);
- unique tickets, numbered 1..n per line and day: a check-in killed before its commit leaves no
  hole and no duplicate, and the ticket counter is not left ahead of the last ticket given.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from lobby.models import ClinicSettings, Line, TicketCounter, Visit

from .serverproc import ServerProcess
from .test_multiprocess import REDIS_URL, redis_available  # noqa: F401  (a fixture)

ONE, TWO = "one", "two"
CHECK_INS = 150  # sent by the client threads; one more is the check-in cut off mid-request
CLIENT_THREADS = 5
KILL_WHEN_ANSWERED = CHECK_INS // 3
KILL_WHEN_IN_FLIGHT = 2  # kill while requests are on their way, not between them
REQUEST_TIMEOUT = 5  # seconds: short, so that a request lost with process one is retried soon
MAX_ATTEMPTS = 10  # per check-in, the first included
NAMES = ["王芳", "李娜", "张伟", "刘洋", "陈静", "Anna Müller", "John Smith", "Lucía Gómez"]


@dataclass
class CheckIn:
    """One logical check-in: one visitor, one Idempotency-Key, however many requests it takes."""

    key: str
    body: dict
    attempts: list[tuple[str, str]] = field(default_factory=list)  # (process, status or error)
    answer: dict | None = None
    answered_by: str | None = None
    first_retry_at: dt.datetime | None = None  # UTC

    @property
    def failed_on_one(self) -> bool:
        return any(process == ONE and not outcome.startswith("2") for process, outcome in self.attempts)


def is_2xx(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


class Load:
    """What the clients do: send a check-in to process one until it is seen to fail (as a load
    balancer would mark it down), then to process two; a request that gets no 2xx is sent again,
    with the same key, to process two."""

    def __init__(self, urls: dict[str, str], api_key: str):
        self.addresses = {process: url.removeprefix("http://").split(":") for process, url in urls.items()}
        self.headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        self.changed = threading.Condition()  # guards the two counts below; notified on each change
        self.in_flight_to_one = 0
        self.answered_by_one = 0
        self.one_seen_failing = threading.Event()

    def _connection(self, process: str) -> http.client.HTTPConnection:
        host, port = self.addresses[process]
        return http.client.HTTPConnection(host, int(port), timeout=REQUEST_TIMEOUT)

    def _headers(self, check_in: CheckIn) -> dict:
        return {**self.headers, "Idempotency-Key": check_in.key}

    @staticmethod
    def _answer(connection: http.client.HTTPConnection, write) -> tuple[int | None, dict | str]:
        """(status, JSON body) once `write()` has sent the request, or (None, the error) if no answer came."""
        try:
            write()
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out, cut short
            return None, type(error).__name__
        finally:
            connection.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw.decode(errors="replace")[:200]

    def send(self, process: str, check_in: CheckIn) -> tuple[int | None, dict | str]:
        connection = self._connection(process)
        body = json.dumps(check_in.body).encode()
        return self._answer(connection, lambda: connection.request("POST", "/api/v1/visits", body=body,
                                                                   headers=self._headers(check_in)))

    def send_half(self, check_in: CheckIn):
        """Send process one the headers and half the body: it waits for the rest, so this request
        is in flight, unanswered and unsaved, until process one dies. Returns the function that
        sends the rest and reads the answer."""
        body = json.dumps(check_in.body).encode()
        connection = self._connection(ONE)
        connection.putrequest("POST", "/api/v1/visits")
        for name, value in {**self._headers(check_in), "Content-Length": str(len(body))}.items():
            connection.putheader(name, value)
        connection.endheaders(body[:len(body) // 2])
        return lambda: self._answer(connection, lambda: connection.send(body[len(body) // 2:]))

    def _track(self, process: str, delta: int, answered: bool = False) -> None:
        if process != ONE:
            return
        with self.changed:
            self.in_flight_to_one += delta
            self.answered_by_one += answered
            self.changed.notify_all()

    def note(self, check_in: CheckIn, process: str, status: int | None, body: dict | str) -> bool:
        """Record one attempt; True when it must be tried again (no answer, or a 5xx)."""
        check_in.attempts.append((process, str(status) if status is not None else body))
        if is_2xx(status):
            check_in.answer, check_in.answered_by = body, process
            return False
        if status is not None and status < 500:
            return False  # refused for good (4xx): the assertions show it
        if process == ONE and status is None:
            self.one_seen_failing.set()  # no answer at all: gone, not just busy
        return True

    def run(self, check_in: CheckIn) -> None:
        process = TWO if self.one_seen_failing.is_set() else ONE
        self._track(process, +1)
        status, body = self.send(process, check_in)
        self._track(process, -1, answered=is_2xx(status))
        if self.note(check_in, process, status, body):
            self.retry_on_two(check_in)

    def retry_on_two(self, check_in: CheckIn) -> None:
        check_in.first_retry_at = dt.datetime.now(dt.timezone.utc)
        for attempt in range(1, MAX_ATTEMPTS):
            status, body = self.send(TWO, check_in)
            if not self.note(check_in, TWO, status, body):
                return
            time.sleep(0.02 * attempt)  # a short back-off between tries of one check-in


def kill_mid_load(load: Load, first: ServerProcess) -> tuple[int, int] | None:
    """SIGKILL process one once a third of the check-ins are answered, with requests in flight.

    Returns (answered, in flight) at the moment of the kill, or None if the load never got there.
    The lock is held from the look to the kill: no client starts or finishes a request to
    process one meanwhile, so the counts are those of the moment of the kill.
    """
    with load.changed:
        if not load.changed.wait_for(lambda: load.answered_by_one >= KILL_WHEN_ANSWERED
                                     and load.in_flight_to_one >= KILL_WHEN_IN_FLIGHT, timeout=30):
            return None
        counts = (load.answered_by_one, load.in_flight_to_one)
        first.kill()
        return counts


def make_check_ins(count: int) -> list[CheckIn]:
    return [CheckIn(key=f"failover-{uuid.uuid4()}",
                    body={"name": NAMES[i % len(NAMES)], "phone": f"1380013{i:04d}", "kind": "walk-in",
                          "service": "peel"})
            for i in range(count)]


def stored_visits(session) -> list[dict]:
    return [{"key": v.idempotency_key, "id": v.public_id, "ticket": v.ticket, "line": v.line.code,
             "prefix": v.line.prefix, "day": v.clinic_day, "number": v.number, "saved_at": v.checked_in_at}
            for v in session.query(Visit)]


def ticket_counters(session) -> dict:
    return {(session.get(Line, c.line_id).code, c.clinic_day): c.last_number for c in session.query(TicketCounter)}


@pytest.mark.usefixtures("redis_available")
def test_kill_9_of_one_of_two_processes_loses_and_doubles_no_check_in(api, app, query, tmp_path):
    def open_all_day(session):
        session.query(ClinicSettings).one().open_all_day = True  # the servers run on the real clock
        session.commit()

    query(open_all_day)
    env = {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "failover-test",
           "REDIS_URL": REDIS_URL, "LOBBY_SOCKETIO_CHANNEL": f"lobby-test-{uuid.uuid4().hex}",
           "LOBBY_INSTANCE_PATH": str(tmp_path / "instance")}
    first, second = ServerProcess(env), ServerProcess(env)
    *check_ins, cut_off = everyone = make_check_ins(CHECK_INS + 1)
    try:
        with ThreadPoolExecutor(2) as starting:  # both at once: each takes a few seconds to start
            list(starting.map(ServerProcess.start, (first, second)))
        load = Load({ONE: first.url, TWO: second.url}, api.key)
        with ThreadPoolExecutor(CLIENT_THREADS) as clients:
            sent = [clients.submit(load.run, check_in) for check_in in check_ins]
            rest_of_cut_off = load.send_half(cut_off)
            killed = kill_mid_load(load, first)
            assert killed, (f"the kill condition never came: {load.answered_by_one} answered by process "
                            f"one, {load.in_flight_to_one} in flight; process two said: {second.output()[-2000:]}")
            answered_before_kill, in_flight_at_kill = killed
            if load.note(cut_off, ONE, *rest_of_cut_off()):
                load.retry_on_two(cut_off)
            for future in sent:
                future.result()

        # A client whose answer was lost on its way asks again: process two names the same visit.
        for check_in in [c for c in check_ins if c.answered_by == ONE][-5:]:
            status, body = load.send(TWO, check_in)
            assert is_2xx(status), (status, body)
            assert (body["id"], body["ticket"]) == (check_in.answer["id"], check_in.answer["ticket"]), check_in.key
    finally:
        first.kill()
        second_said = second.output()[-2000:]
        second.kill()

    visits, counters = query(stored_visits), query(ticket_counters)
    by_key = {v["key"]: v for v in visits}
    retried = [c for c in everyone if c.first_retry_at is not None]
    # A retried check-in whose visit is older than its first retry was saved by process one, which
    # died (or the answer was lost) before the client had it: the retry must have found that visit.
    saved_by_one_unanswered = [c for c in retried
                               if c.key in by_key and by_key[c.key]["saved_at"] < c.first_retry_at]
    failed_in_load = [c for c in check_ins if c.failed_on_one]
    counts = (f"{answered_before_kill} answered by process one before the kill, {in_flight_at_kill} in flight "
              f"to it then; {len(failed_in_load)} of the load failed on it "
              f"({dict(Counter(o for c in failed_in_load for p, o in c.attempts if p == ONE))}), "
              f"the cut-off one: {cut_off.attempts}; {len(retried)} retried, "
              f"{len(saved_by_one_unanswered)} of them saved by process one unanswered; "
              f"{sum(c.answered_by == TWO for c in everyone)} answered by process two")

    unanswered = [(c.key, c.attempts) for c in everyone if c.answer is None]
    assert not unanswered, f"never answered with a 2xx: {unanswered[:5]}; {counts}; process two said: {second_said}"
    # The kill came in the middle of the load, with requests on their way to process one,
    # and what failed there was answered by process two.
    assert KILL_WHEN_ANSWERED <= answered_before_kill < CHECK_INS, counts
    assert in_flight_at_kill >= KILL_WHEN_IN_FLIGHT, counts
    assert cut_off.failed_on_one and cut_off.answered_by == TWO, counts
    assert all(c.answered_by == TWO for c in failed_in_load), counts

    # One visit per key, and no other: nothing lost, nothing doubled.
    per_key = Counter(v["key"] for v in visits)
    assert len(visits) == len(everyone), f"{len(visits)} visits for {len(everyone)} check-ins; {counts}"
    assert set(per_key) == {c.key for c in everyone}, counts
    assert max(per_key.values()) == 1, [key for key, n in per_key.items() if n > 1]

    # Every 2xx names the visit stored under its key, with the ticket it gave.
    def named(record):
        return record["id"], record["ticket"]

    wrong = [(c.key, c.answered_by, named(c.answer), named(by_key[c.key])) for c in everyone
             if named(c.answer) != named(by_key[c.key])]
    assert not wrong, f"2xx answers the database contradicts: {wrong[:5]}; {counts}"

    # Tickets: unique, numbered 1..n per line and day with no gap, and the counter stops at n.
    tickets = Counter(v["ticket"] for v in visits)
    assert max(tickets.values()) == 1, [ticket for ticket, n in tickets.items() if n > 1]
    numbers = defaultdict(list)
    for v in visits:
        assert v["ticket"] == f"{v['prefix']}{v['number']:03d}", v
        numbers[(v["line"], v["day"])].append(v["number"])
    for (line, day), taken in numbers.items():
        assert sorted(taken) == list(range(1, len(taken) + 1)), f"line {line} on {day}: {sorted(taken)}"
        assert counters[(line, day)] == len(taken), f"line {line} on {day}: the counter is ahead; {counts}"
