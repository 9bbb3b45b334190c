"""Two server processes sharing Redis and one database: a board connected to the first
shows a call made through the second."""

import json
import threading
import urllib.request
import uuid

import pytest
import redis
import socketio as socketio_client

from .serverproc import ServerProcess

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_available():
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.fail("Redis is not running on 127.0.0.1:6379")


def test_a_call_through_process_two_reaches_a_board_on_process_one(api, app, tmp_path, redis_available):
    env = {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "two-processes",
           "REDIS_URL": REDIS_URL, "LOBBY_SOCKETIO_CHANNEL": f"lobby-test-{uuid.uuid4().hex}",
           "LOBBY_INSTANCE_PATH": str(tmp_path / "instance")}
    with ServerProcess(env) as first, ServerProcess(env) as second:
        board = socketio_client.Client(reconnection=False)
        calls, connected = [], threading.Event()
        got_call = threading.Event()
        board.on("board", lambda message: connected.set(), namespace="/display")

        def on_call(message):
            calls.append(message)
            got_call.set()

        board.on("call", on_call, namespace="/display")
        board.connect(first.url, namespaces=["/display"], transports=["websocket"])
        try:
            assert connected.wait(10), "the board never got its first state"
            headers = {"Authorization": f"Bearer {api.key}", "Content-Type": "application/json"}
            body = json.dumps({"name": "张三华", "phone": "13800138001", "kind": "walk-in", "service": "peel"})
            request = urllib.request.Request(second.url + "/api/v1/visits", data=body.encode(), headers=headers)
            urllib.request.urlopen(request, timeout=10).read()
            request = urllib.request.Request(second.url + "/api/v1/consultants/amy/call-next", data=b"{}",
                                             headers=headers)
            urllib.request.urlopen(request, timeout=10).read()
            assert got_call.wait(10), "the call made on process two never reached process one's board"
            assert calls[0]["ticket"] == "A001"
        finally:
            board.disconnect()
