"""Coalesced publishes: under a burst of changes the boards get the latest state, at most once per
interval, never a backlog of stale renders — and every call of the burst is still announced."""

import pytest

from lobby.extensions import socketio
from lobby.realtime import realtime

from .test_realtime import display_client, received, walk_in


@pytest.fixture
def coalescing(app):
    realtime.interval = 0.2
    yield realtime
    assert wait_for(realtime.idle)  # nothing of this test's publishes outlives its database
    realtime.interval = 0.0


def wait_for(condition, timeout=10.0):
    """Poll until `condition()` holds (the publisher runs on its own thread)."""
    waited = 0.0
    while not condition():
        if waited > timeout:
            return False
        socketio.sleep(0.02)
        waited += 0.02
    return True


def test_a_burst_of_check_ins_reaches_the_boards_as_its_final_state(app, api, coalescing):
    board = display_client(app)
    received(board, "/display")  # the state on connecting
    publishes = coalescing.publishes
    for i in range(12):
        walk_in(api, name=f"访客{i}", phone=f"1380013{i:04d}")
    boards = []

    assert wait_for(coalescing.idle)  # the burst published (the last publish sent, not only taken)
    boards.extend(m["args"][0] for m in received(board, "/display", "board"))
    # Far fewer publishes than changes, and the last board shown is the latest state.
    assert coalescing.publishes - publishes < 12
    last = boards[-1]
    versions = [b["version"] for b in boards]
    assert versions == sorted(versions)
    from lobby import queue_state
    with app.app_context():
        assert last["version"] == queue_state.current().version


def test_every_call_of_a_burst_is_announced(app, api, coalescing):
    for i in range(3):
        walk_in(api, name=f"访客{i}", phone=f"1380013{i:04d}")
    assert wait_for(coalescing.idle)
    board = display_client(app)
    received(board, "/display")
    called = [api.post(f"/api/v1/consultants/{who}/call-next").get_json()["ticket"] for who in ("amy", "bea")]
    calls = []

    def both_calls():
        calls.extend(m["args"][0]["ticket"] for m in received(board, "/display", "call"))
        return len(calls) >= 2 and coalescing.idle()
    assert wait_for(both_calls)
    assert sorted(calls) == sorted(called)  # each call announced, once
