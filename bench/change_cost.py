"""The cost of one change against the number waiting: a check-in and a call through the API, whole
(the request, the queue read once, the board rendered per room, the broadcast), with 60, 300 and
900 visitors waiting.

    .venv/bin/python bench/change_cost.py [--waiting 60 300 900] [--repeat 30] [--check-ins-only]

In-process (Flask's test client), SQLite in a temporary folder, publishes at once (no coalescing),
the frozen clock of the tests. Prints the median and p90 milliseconds of each change, and how many
times the queue was read per change (lobby/queue_state.py). Every other call carries an
Idempotency-Key (saved with the call, its answer kept after it: lobby/idempotency.py); the last
column pair is the calls with a key and the calls without, side by side in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def measure(waiting: int, repeat: int, with_calls: bool = True) -> dict:
    from lobby import create_app, queue_state
    from lobby.api.keys import create_api_key
    from lobby.domain import clock
    from lobby.extensions import db
    from lobby.models import Client, TicketCounter, Visit, VisitKind, VisitStatus
    from tests.factories import MORNING, build_clinic

    folder = tempfile.mkdtemp()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db", "SECRET_KEY": "bench",
                      "TESTING": True})
    now = [MORNING]
    clock.utcnow = lambda: now[0]
    with app.app_context():
        db.create_all()
        clinic = build_clinic(db.session)
        _, key = create_api_key(db.session, "bench")
        lines = [clinic.lines.skin, clinic.lines.surgery]
        services = [clinic.services.peel, clinic.services.eyelid]
        for i in range(waiting):  # the queue as a long morning leaves it
            client = Client(name=f"访客{i}", phone=f"+86139{i:08d}")
            db.session.add(Visit(clinic_day=MORNING.date(), line=lines[i % 2], number=i + 1,
                                 ticket=f"{lines[i % 2].prefix}{i + 1:03d}", kind=VisitKind.WALK_IN,
                                 status=VisitStatus.WAITING, client=client, service=services[i % 2],
                                 checked_in_at=MORNING - dt.timedelta(minutes=waiting - i)))
        for line in lines:  # the lines' ticket numbers go on from there
            db.session.add(TicketCounter(line_id=line.id, clinic_day=MORNING.date(), last_number=waiting))
        db.session.commit()
    web = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    check_ins, calls, reads, call_reads = [], [], [], []
    keyed, unkeyed = [], []
    for i in range(repeat):
        now[0] += dt.timedelta(seconds=1)  # a busy morning: a change every second or so
        before = queue_state.reads
        started = time.perf_counter()
        response = web.post("/api/v1/visits", headers=headers, json={
            "name": f"新客{i}", "phone": f"1370000{i:04d}", "kind": "walk-in", "service": "peel"})
        check_ins.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 201, response.get_json()
        reads.append(queue_state.reads - before)
        if not with_calls:
            continue
        before = queue_state.reads
        started = time.perf_counter()
        with_key = {"Idempotency-Key": f"bench-call-{i:06d}"} if i % 2 == 0 else {}
        response = web.post("/api/v1/consultants/amy/call-next", headers={**headers, **with_key})
        calls.append((time.perf_counter() - started) * 1000)
        (keyed if with_key else unkeyed).append(calls[-1])
        call_reads.append(queue_state.reads - before)
        assert response.status_code == 200, response.get_json()

    def summary(values):
        if not values:
            return math.nan, math.nan
        ordered = sorted(values)
        return statistics.median(values), ordered[int(0.9 * (len(ordered) - 1))]
    return {"waiting": waiting, "check_in": summary(check_ins), "call": summary(calls),
            "reads": statistics.mean(reads), "call_reads": statistics.mean(call_reads) if with_calls else math.nan,
            "keyed": summary(keyed)[0], "unkeyed": summary(unkeyed)[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--waiting", type=int, nargs="+", default=[60, 300, 900])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--check-ins-only", action="store_true",
                        help="no call after each check-in (a call leaves the next reader to run the day again)")
    args = parser.parse_args()
    print(f"{'waiting':>8} {'check-in p50 ms':>16} {'p90':>7} {'reads':>6} {'call p50 ms':>12} {'p90':>7} {'reads':>6} "
          f"{'keyed':>6} {'unkeyed':>8}")
    for waiting in args.waiting:
        r = measure(waiting, args.repeat, with_calls=not args.check_ins_only)
        print(f"{r['waiting']:>8} {r['check_in'][0]:>16.1f} {r['check_in'][1]:>7.1f} {r['reads']:>6.2f} "
              f"{r['call'][0]:>12.1f} {r['call'][1]:>7.1f} {r['call_reads']:>6.2f} "
              f"{r['keyed']:>6.1f} {r['unkeyed']:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
