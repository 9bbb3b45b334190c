"""What the benchmarks that start the real server share (not a benchmark itself).

- prepare_database(): the seeded demo clinic, an API key, optionally N visitors waiting and D past
  clinic days of finished visits (so durations are learned from history, as in a real clinic).
- Servers: K `serve.py` processes (gevent, monkey-patched, as `make run` starts it) on consecutive
  ports, sharing the database and, when K > 1, REDIS_URL as the Socket.IO message queue; each logs
  at DEBUG to its own file, so every publish is a "published N event(s) in X ms" line.
- cpu_seconds(): a process's utime + stime from /proc/<pid>/stat (Linux).
- publishes(): the publish lines of a log, with their times, for "publishes per second".

Used by call_latency.py, connect_storm.py and checkin_load.py (run from the repository's root, as
`.venv/bin/python bench/<script>.py`).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PUBLISH = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*published (\d+) event\(s\) in ([\d.]+) ms",
                     re.MULTILINE)
ANNOUNCED = re.compile(r"announced a call ([\d.]+) ms after its request arrived")
# The server's pauses (serve.py and queue_state at DEBUG): what stops every request at once.
PAUSE = re.compile(r"^(\S+ \S+) DEBUG \S+: (a cycle collection \(generation \d\) paused the process|read the queue afresh"
                   r"|ran the queue again from now) (?:in )?([\d.]+) ms", re.M)
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|\bERROR\b|\bCRITICAL\b")

# History: how each demo person runs against the configured minutes (a slow one, a fast one...).
SPEED = {"lin": 1.0, "zhou": 0.85, "chen": 1.25, "wang": 1.1, "zhao": 0.9, "liu": 1.3, "dr_sun": 1.0,
         "dr_he": 1.2}
HISTORY_PER_DAY = 40


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


# --- the database ------------------------------------------------------------------------------


def prepare_database(instance: Path, *, waiting: int = 0, history_days: int = 0,
                     avoid: str = "lin") -> tuple[str, str]:
    """A seeded demo clinic and an API key, `history_days` previous clinic days of finished visits
    and `waiting` visitors waiting today, none of them for `avoid` (the consultant a benchmark calls
    with: her queue stays the seed's and the benchmark's own). Returns (database url, key). SQLite
    in `instance`."""
    os.environ.update(LOBBY_INSTANCE_PATH=str(instance), SECRET_KEY="bench",
                      DATABASE_URL=f"sqlite:///{instance / 'bench.db'}")
    from lobby import create_app
    from lobby.api.keys import create_api_key
    from lobby.domain import durations
    from lobby.extensions import db
    from lobby.seed import seed_demo

    # The servers started later send webhooks and publish; this process only seeds: no background
    # publisher, and its commits are published to nobody.
    app = create_app({"WEBHOOKS_SEND": False, "PUBLISH_INTERVAL_MS": 0})
    app.extensions.pop("lobby_realtime")  # nobody listens here: no read, no render on each commit
    with app.app_context():
        db.create_all()
        seed_demo(db.session, admin_password="bench-only-password")
        _, key = create_api_key(db.session, "bench")
        db.session.commit()
        if history_days:
            add_history(db.session, history_days)
            durations.forget(db.session)  # the seed's check-ins learned from no history
        if waiting:
            add_waiting(db.session, waiting, avoid=avoid)
    return os.environ["DATABASE_URL"], key


def _people(session):
    from lobby.models import Role, Service, Staff

    staff = {s.username: s for s in session.query(Staff)}
    services = {s.code: s for s in session.query(Service)}
    consultants = [s for s in staff.values() if s.role == Role.CONSULTANT]
    doctors = [s for s in staff.values() if s.role == Role.DOCTOR]
    return staff, services, consultants, doctors


def add_history(session, days: int, per_day: int = HISTORY_PER_DAY, seed: int = 2026) -> int:
    """`days` clinic days before today, `per_day` visits each, every one finished: called,
    consultation started, done with an outcome (or a no-show, or left before her turn), each day
    closed as the server closes it. Consistent per day: ticket numbers per line, each person busy
    with one visitor at a time. Returns how many visits were added."""
    from lobby.domain import clock
    from lobby.domain.settings import clinic_zone
    from lobby.models import (
        Client,
        DayClose,
        TicketCounter,
        Visit,
        VisitKind,
        VisitStatus,
    )

    rng = random.Random(seed)
    tz = clinic_zone(session)
    today = clock.local_day(clock.utcnow(), tz)
    _, services, consultants, doctors = _people(session)
    sales = [s for s in services.values() if not s.line.post_op]
    post_op = [s for s in services.values() if s.line.post_op]
    added = 0
    for back in range(days, 0, -1):
        day = today - dt.timedelta(days=back)
        start, _ = clock.day_bounds(day, tz)
        opens, closes = start + dt.timedelta(hours=9, minutes=30), start + dt.timedelta(hours=19, minutes=30)
        arrivals = sorted(opens + (closes - opens) * rng.random() for _ in range(per_day))
        free: dict[int, dt.datetime] = {}
        numbers: dict[int, int] = {}
        left = 0
        for arrive in arrivals:
            roll = rng.random()
            if roll < 0.15:
                kind, service = VisitKind.POST_OP, rng.choice(post_op)
                person, rule = rng.choice(doctors), "surgeon"
            else:
                kind = VisitKind.RETURNING if roll < 0.40 else VisitKind.WALK_IN
                service = rng.choice(sales)
                fit = [c for c in consultants if service.specialty in (c.specialties or [])] or consultants
                person, rule = rng.choice(fit), "own" if kind == VisitKind.RETURNING else "rotation"
            first = kind == VisitKind.WALK_IN
            client = Client(name=f"往日{back}-{added}", phone=f"+86136{rng.randrange(10**8):08d}",
                            channel="old-client" if not first else rng.choice(["online", "friend", "ads"]),
                            consultant=person if kind == VisitKind.RETURNING else None, created_at=arrive)
            numbers[service.line_id] = number = numbers.get(service.line_id, 0) + 1
            visit = Visit(clinic_day=day, line=service.line, number=number, ticket=f"{service.line.prefix}{number:03d}",
                          kind=kind, client=client, service=service, consultant=person, triage_rule=rule,
                          first_visit=first, checked_in_at=arrive)
            began = max(arrive + dt.timedelta(minutes=rng.uniform(2, 8)), free.get(person.id, opens))
            fate = rng.random()
            if fate < 0.03:  # left before her turn
                visit.status, visit.left_at = VisitStatus.LEFT, arrive + dt.timedelta(minutes=rng.uniform(20, 40))
                visit.updated_at = visit.left_at
                left += 1
            elif fate < 0.08:  # called, never came: skipped after a few minutes; the day's close made her left
                visit.called_at = began
                visit.no_show_at = began + dt.timedelta(minutes=rng.uniform(2, 5))
                visit.status, visit.left_at, visit.left_reason = VisitStatus.LEFT, start + dt.timedelta(hours=23), \
                    "day_closed"
                visit.updated_at = visit.left_at
                free[person.id] = visit.no_show_at
                left += 1
            else:
                minutes = service.typical_minutes * SPEED.get(person.username, 1.0) * rng.lognormvariate(0, 0.3)
                visit.called_at = began - dt.timedelta(minutes=rng.uniform(0.5, 2))
                visit.consultation_started_at = began
                visit.done_at = began + dt.timedelta(minutes=minutes)
                visit.status, visit.updated_at = VisitStatus.DONE, visit.done_at
                if not service.line.post_op:
                    chance = rng.random()
                    visit.outcome = "deal" if chance < 0.35 else "thinking" if chance < 0.65 else \
                        "no_deal" if chance < 0.95 else None
                free[person.id] = visit.done_at
            session.add(visit)
            added += 1
        for line_id, last in numbers.items():
            session.add(TicketCounter(line_id=line_id, clinic_day=day, last_number=last))
        # Closed as the server closes a day (else its first request would close them, and set everyone off duty).
        session.add(DayClose(clinic_day=day, closed_at=start + dt.timedelta(hours=23), visits_closed=left))
    session.commit()
    return added


def add_waiting(session, count: int, *, avoid: str = "lin", seed: int = 7) -> None:
    """`count` visitors waiting today, checked in through the domain's own check-in (triage, ticket,
    the wait told) at times spread over the last 90 minutes of today, none of them for `avoid`:
    skin visitors ask for another skin consultant, surgery visitors go by rotation (which never
    gives them a skin-only consultant), post-op visitors to their surgeon."""
    from lobby.domain import checkin, clock
    from lobby.domain.audit import Actor
    from lobby.domain.settings import clinic_zone
    from lobby.models import Client, DutyStatus, VisitKind

    rng = random.Random(seed)
    actor = Actor("bench")
    now = clock.utcnow()
    start, _ = clock.day_bounds(clock.local_day(now, clinic_zone(session)), clinic_zone(session))
    span = min(dt.timedelta(minutes=90), now - start - dt.timedelta(minutes=1))
    _, services, consultants, doctors = _people(session)
    skin = [s for s in services.values() if s.line.code == "skin"]
    surgery = [s for s in services.values() if s.line.code == "surgery"]
    post_op = [s for s in services.values() if s.line.post_op]
    consultants = [c for c in consultants if c.duty_status == DutyStatus.AVAILABLE]
    avoided = next((c for c in consultants if c.username == avoid), None)
    for i in range(count):
        at = now - span + span * (i / max(count, 1))
        client = Client(name=f"候诊{i}", phone=f"+86137{i:08d}", channel="online")
        session.add(client)
        which = i % 4
        if which == 3:
            checkin.check_in(session, kind=VisitKind.POST_OP, client=client, service=rng.choice(post_op),
                             surgeon=doctors[(i // 4) % len(doctors)], actor=actor, now=at)
        elif which == 2 and (avoided is None or not any(s.specialty in avoided.specialties for s in surgery)):
            checkin.check_in(session, kind=VisitKind.WALK_IN, client=client, service=rng.choice(surgery),
                             actor=actor, now=at)
        else:
            service = rng.choice(skin)
            others = [c for c in consultants if c.username != avoid and service.specialty in (c.specialties or [])]
            checkin.check_in(session, kind=VisitKind.WALK_IN, client=client, service=service,
                             requested=rng.choice(others), actor=actor, now=at)
    session.commit()


# --- the servers -------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (its threads included)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of proc(5)


@dataclass
class Server:
    port: int
    log_path: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Servers:
    """K serve.py processes on consecutive ports from `port`."""

    folder: Path
    database_url: str
    count: int = 1
    port: int = 5077
    redis_url: str | None = None
    env: dict = field(default_factory=dict)
    started: list[Server] = field(default_factory=list)

    def __enter__(self) -> Self:
        if self.count > 1 and not self.redis_url:
            raise SystemExit("--processes > 1 needs REDIS_URL (the Socket.IO message queue between processes)")
        env = {**os.environ, "DATABASE_URL": self.database_url, "SECRET_KEY": "bench",
               "LOBBY_INSTANCE_PATH": str(self.folder), "LOBBY_LOG_LEVEL": "DEBUG", "HOST": "127.0.0.1",
               **self.env}
        env.pop("REDIS_URL", None)
        if self.redis_url:
            import redis

            redis.Redis.from_url(self.redis_url).flushdb()  # a database of its own, emptied first
            env["REDIS_URL"] = self.redis_url
            env["LOBBY_SOCKETIO_CHANNEL"] = f"lobby-bench-{uuid.uuid4().hex[:8]}"
        try:
            for i in range(self.count):
                port = self.port + i
                log_path = self.folder / f"server-{port}.log"
                with log_path.open("w") as log:
                    process = subprocess.Popen([sys.executable, "serve.py"], cwd=ROOT, env={**env, "PORT": str(port)},
                                               stdout=log, stderr=subprocess.STDOUT)
                self.started.append(Server(port, log_path, process))
            for server in self.started:
                _wait_healthy(server)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        for server in self.started:
            if server.process.poll() is None:
                server.process.terminate()
        for server in self.started:
            try:
                server.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(timeout=10)

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.started]

    def cpu(self) -> float:
        """The servers' CPU seconds so far, summed."""
        return sum(cpu_seconds(s.process.pid) for s in self.started)

    def logs(self) -> str:
        return "".join(s.log() for s in self.started)

    def publishes(self) -> list[tuple[float, int, float]]:
        """Every publish so far, all processes: (unix time, events, ms), in time order."""
        found = []
        for server in self.started:
            for stamp, count, ms in PUBLISH.findall(server.log()):
                when = dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
                found.append((when, int(count), float(ms)))
        return sorted(found)

    def announcements(self) -> list[float]:
        """For every call so far, all processes: ms from its request's arrival to its announcement
        handed to the boards' sockets (the server's share of call → screen)."""
        return [float(ms) for server in self.started for ms in ANNOUNCED.findall(server.log())]

    def pauses(self) -> dict[str, list[float]]:
        """The server's longer stalls so far, all processes, by kind: ms each (see PAUSE)."""
        found: dict[str, list[float]] = {}
        for server in self.started:
            for _stamp, kind, ms in PAUSE.findall(server.log()):
                label = {"read": "queue read afresh", "ran": "queue run again from now"}.get(kind.split(" ")[0])
                found.setdefault(label or "cycle collection, " + kind[kind.index("(") + 1:kind.index(")")],
                                 []).append(float(ms))
        return found

    def problems(self) -> list[str]:
        """Log lines that look like server errors (tracebacks, ERROR), all processes."""
        lines = []
        for server in self.started:
            lines += [f"[{server.port}] {line}" for line in server.log().splitlines() if TRACEBACK.search(line)]
        return lines


def _wait_healthy(server: Server, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"serve.py on port {server.port} exited:\n{server.log()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"serve.py on port {server.port} did not answer /healthz")


def listen_drops() -> int:
    """The kernel's count of connections dropped at a full listen queue (TcpExt ListenDrops, this
    machine, all sockets): a server that accepts too slowly, or whose backlog is too short."""
    with open("/proc/net/netstat") as netstat:
        lines = netstat.read().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            return int(dict(zip(names.split()[1:], values.split()[1:], strict=True)).get("ListenDrops", 0))
    return 0


def per_second(times: list[float], start: float, end: float) -> list[int]:
    """How many of `times` fall in each whole second from `start` to `end`."""
    seconds = max(1, int(end - start + 0.999))
    counts = [0] * seconds
    for t in times:
        if start <= t < start + seconds:
            counts[int(t - start)] += 1
    return counts
