"""Wait accuracy on generated clinic days, against a rolling average of recent waits, and the cost
of one estimate update next to one board render.

    .venv/bin/python bench/wait_accuracy.py --seeds 1 2 3 4 5

Each seed is a generated clinic (lobby/replay/generate.py): 10 days of history, then a held-out
11th day, replayed through Lobby's own domain on a simulated clock (lobby/replay). What a visitor
was told at check-in is set against when they were called. Also run with learning turned off
(the configured minutes only), to show what the clinic's own durations add.

The cost part builds a queue of 60 waiting visitors in the test clinic and times, in one run,
a check-in's estimate update (the newcomer added to the runs already simulated) and the
simulation run again from scratch (what a call or a finish costs) against one render of the board.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lobby import create_app  # noqa: E402
from lobby.domain import durations  # noqa: E402
from lobby.replay import accuracy, replay  # noqa: E402
from lobby.replay.generate import generate  # noqa: E402


def line(label, found):
    return (f"| {label} | {found.visitors} | {found.mean_abs_error:.1f} | {found.baseline_mean_abs_error:.1f} | "
            f"{1 - found.mean_abs_error / found.baseline_mean_abs_error:.0%} | {found.within_5:.0%} | "
            f"{found.above_upper:.0%} | {found.longest_wait:.0f} |")


def accuracy_table(seeds):
    print("| seed | visitors | MAE (min) | rolling avg MAE | MAE below baseline | within ±5 min | above upper | longest wait |")
    print("|---|---|---|---|---|---|---|---|")
    held_out, waited, unlearned = [], [], []
    for seed in seeds:
        trace = generate(seed)
        outcomes = replay(trace)
        last = [o for o in outcomes if o.day == trace.days[-1].date]
        held_out += last
        waited += [o for o in outcomes if o.day > trace.days[0].date and ((o.waited or 0) > 5 or (o.told or 0) > 5)]
        print(line(f"{seed} (held-out day)", accuracy(last)))
        learn_days, durations.LEARN_DAYS = durations.LEARN_DAYS, 0
        try:
            plain = replay(trace)
        finally:
            durations.LEARN_DAYS = learn_days
        unlearned += [o for o in plain if o.day == trace.days[-1].date]
    print(line("all held-out days", accuracy(held_out)))
    print(line("all held-out days, configured minutes only", accuracy(unlearned)))
    print(line("days 2–11, visitors told or waiting > 5 min", accuracy(waited)))


def cost_of_an_update(repeat=200):
    from display.board import build_board
    from display.publisher import render_board
    from lobby.database import unit_of_work
    from lobby.domain import checkin, waits
    from lobby.domain.forecast import Forecast
    from lobby.domain.settings import get_settings
    from lobby.extensions import db
    from lobby.models import VisitKind
    from tests.factories import ACTOR, MORNING, build_clinic, new_client

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        db.create_all()
        clinic = build_clinic(db.session)
        services = [clinic.services.peel, clinic.services.eyelid, clinic.services.nose]
        for i in range(60):
            with unit_of_work(db.session):
                checkin.check_in(db.session, kind=VisitKind.WALK_IN, client=new_client(db.session),
                                 service=services[i % 3], actor=ACTOR, now=MORNING + dt.timedelta(seconds=i))
        now = MORNING + dt.timedelta(minutes=2)
        snapshot = waits.QueueSnapshot(db.session, MORNING.date(), now)
        board = build_board(db.session, snapshot, MORNING.date(), "Bench", True)
        settings = get_settings(db.session)
        assert len(snapshot.waiting) == 60
        newcomer = snapshot.waiting[-1]

        def timed(fn, prepare=None):
            samples = []
            for _ in range(repeat):
                prepared = prepare() if prepare else None
                started = time.perf_counter()
                fn(prepared)
                samples.append((time.perf_counter() - started) * 1000)
            return statistics.median(samples)

        def without_newcomer():
            # The queue just before the 60th check-in, simulated: what the check-in extends.
            before = waits.QueueSnapshot(db.session, MORNING.date(), now)
            before.forecast = Forecast(before._servers(), before.waiting[:-1], before.forecast.in_progress,
                                       before.model, before.forecast.seed)
            before._simulate(waits.RUNS)
            return before

        extend = timed(lambda before: before.add_newcomer(newcomer), without_newcomer)
        rerun = timed(lambda _: snapshot._simulate(waits.RUNS))
        render = timed(lambda _: render_board(board, "zh_CN", settings))
        whole = timed(lambda _: waits.QueueSnapshot(db.session, MORNING.date(), now))
        print(f"\n60 waiting, medians of {repeat}: a check-in's estimate update (the newcomer added to the "
              f"{waits.RUNS} runs) {extend:.3f} ms; the simulation run again from scratch (a call, a finish) "
              f"{rerun:.2f} ms; one board render {render:.2f} ms; ratios to the render: check-in "
              f"{extend / render:.2f}, from scratch {rerun / render:.2f}; "
              f"the whole snapshot (read + duty + simulation) {whole:.2f} ms")

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--skip-cost", action="store_true")
    args = parser.parse_args()
    accuracy_table(args.seeds)
    if not args.skip_cost:
        cost_of_an_update()
