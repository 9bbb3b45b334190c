"""Replay: generated and recorded days through Lobby's own domain on a simulated clock, never
touching the clinic's data; the reports page's what-if replays a day with one more consultant."""

import datetime as dt

from lobby.models import Visit
from lobby.replay import Extra, accuracy, replay
from lobby.replay.generate import generate
from lobby.replay.trace import dumps, loads

from .factories import MORNING


def test_a_generated_day_is_replayed_and_a_trace_reads_back_the_same():
    trace = generate(seed=5, days=2, per_day=40)
    assert loads(dumps(trace)) == trace
    outcomes = replay(trace)
    assert len(outcomes) == sum(len(d.arrivals) for d in trace.days)
    found = accuracy(outcomes)
    assert found.visitors > 40 and 0 <= found.within_5 <= 1 and found.mean_abs_error < found.baseline_mean_abs_error
    # One more consultant all day never makes the longest wait longer.
    more = accuracy(replay(trace, extra=Extra("09:00", "18:00")))
    assert more.longest_wait <= found.longest_wait


def test_the_cli_writes_predicted_and_actual_waits(app, tmp_path):
    out = tmp_path / "waits.csv"
    result = app.test_cli_runner().invoke(args=["replay", "--generate", "2", "--days", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "day,ticket,kind,service,checked_in,told,told_upper,baseline,waited" and len(lines) > 20
    bad = app.test_cli_runner().invoke(args=["replay", str(tmp_path / "missing.jsonl")])
    assert bad.exit_code != 0 and "Traceback" not in bad.output
    broken = tmp_path / "broken.jsonl"
    trace = generate(seed=2, days=1, per_day=5)
    trace.days[0].roster[0]["end"] = "07:00"  # ends before it starts
    broken.write_text(dumps(trace), encoding="utf-8")
    refused = app.test_cli_runner().invoke(args=["replay", str(broken)])
    assert refused.exit_code == 1 and "cannot be replayed" in refused.output and refused.exception.__class__ is SystemExit
    broken.write_text(dumps(trace).replace('"at": "', '"at": "25:', 1), encoding="utf-8")
    assert "line " in app.test_cli_runner().invoke(args=["replay", str(broken)]).output


def test_the_reports_what_if_replays_the_day_without_touching_it(app, api, query, frozen_clock):
    from .test_admin import Staffer

    for i in range(6):
        visit = api.post("/api/v1/visits", json={"name": f"访客{i}", "phone": f"1390000000{i}", "kind": "walk-in",
                                                 "service": "peel", "consultant": "amy"}).get_json()
        for to in ("called", "with_consultant"):
            api.post(f"/api/v1/visits/{visit['id']}/transition", json={"to": to})
        frozen_clock.advance(minutes=30)
        api.post(f"/api/v1/visits/{visit['id']}/transition", json={"to": "done"})
    before = query(lambda s: s.query(Visit).count())
    desk = Staffer(app, "desk")
    day = MORNING.date().isoformat()
    page = desk.get(f"/admin/reports?start={day}&what_if_start=09:00&what_if_end=18:00").get_data(as_text=True)
    assert "data-what-if" in page and "再多一位咨询师" in page
    assert query(lambda s: s.query(Visit).count()) == before
    bad = desk.get(f"/admin/reports?start={day}&what_if_start=18:00&what_if_end=09:00")
    assert bad.status_code == 200 and "结束时间" in bad.get_data(as_text=True)
    assert dt.date.fromisoformat(day)
