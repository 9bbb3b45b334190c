"""The message queue (Redis) stops and comes back: two server processes keep serving, /healthz
says "degraded" meanwhile, and once Redis is back every board holds the latest call — the one made
through the other process during the outage — without a restart. Redis is a server of the test's
own, so stopping it touches nothing else."""

import json
import os
import shutil
import subprocess
import threading
import time
import urllib.request
import uuid

import pytest
import redis
import socketio as socketio_client

from .serverproc import ServerProcess, free_port


class RedisServer:
    """A throw-away redis-server on a loopback port: started, stopped (SIGKILL) and started again."""

    def __init__(self):
        self.port = free_port()
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with redis.Redis(port=self.port, socket_connect_timeout=0.2) as client:
                    client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # polling until it answers

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis():
    if not shutil.which("redis-server") and not os.path.exists("/usr/bin/redis-server"):
        pytest.fail("redis-server is not installed")
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def health(server) -> dict:
    try:
        with urllib.request.urlopen(server.url + "/healthz", timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        return json.loads(err.read())


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)  # polling a condition, not hiding a race


def post(server, path, key, body=None):
    request = urllib.request.Request(server.url + path, data=json.dumps(body or {}).encode(),
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                                              "Idempotency-Key": uuid.uuid4().hex})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        raise AssertionError(f"{path}: {err.code} {err.read().decode()}") from None


def latest_call(html: str) -> str | None:
    marker = 'class="call call-latest" data-ticket="'
    if marker not in html:
        return None
    return html.split(marker, 1)[1].split('"', 1)[0]


def test_boards_converge_after_the_message_queue_returns(api, app, tmp_path, own_redis):
    env = {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "queue-outage",
           "REDIS_URL": own_redis.url, "LOBBY_SOCKETIO_CHANNEL": f"lobby-test-{uuid.uuid4().hex}",
           "LOBBY_INSTANCE_PATH": str(tmp_path / "instance"), "LOBBY_LOG_LEVEL": "INFO"}
    with ServerProcess(env) as first, ServerProcess(env) as second:
        wait_for(lambda: health(first)["message_queue"] == "ok" and health(second)["message_queue"] == "ok",
                 10, "both processes subscribed")
        board, boards = socketio_client.Client(reconnection=False), []
        lock = threading.Lock()

        def on_board(message):
            with lock:
                boards.append(message)
        board.on("board", on_board, namespace="/display")
        board.connect(first.url, namespaces=["/display"], transports=["websocket"])
        try:
            wait_for(lambda: boards, 10, "the board's first state")
            post(second, "/api/v1/visits", api.key, {"name": "张三华", "phone": "13800138001", "kind": "walk-in",
                                                     "service": "peel"})
            called = post(second, "/api/v1/consultants/amy/call-next", api.key)
            wait_for(lambda: latest_call(boards[-1]["html"]) == called["ticket"], 10,
                     "a call through process two reaches the board on process one")

            own_redis.stop()
            wait_for(lambda: health(first)["status"] == "degraded" and health(second)["status"] == "degraded",
                     10, "/healthz degraded on both processes")
            assert health(first)["database"] == "ok"
            # The other process serves on: a check-in and a call while the queue is down.
            second_visitor = post(second, "/api/v1/visits", api.key, {
                "name": "李四华", "phone": "13800138002", "kind": "walk-in", "service": "peel"})
            during = post(second, f"/api/v1/consultants/{second_visitor['consultant']}/call-next", api.key)
            assert during["ticket"] != called["ticket"]
            with lock:
                assert latest_call(boards[-1]["html"]) == called["ticket"]  # nothing can carry it now

            own_redis.start()
            wait_for(lambda: latest_call(boards[-1]["html"]) == during["ticket"], 5,
                     "the board on process one shows the call made during the outage")
            wait_for(lambda: health(first)["status"] == "ok" and health(second)["status"] == "ok", 5,
                     "/healthz ok again")
            versions = [message["version"] for message in boards]
            assert versions == sorted(versions)  # and it never went back
        finally:
            board.disconnect()
        for server in (first, second):
            output = server.output()
            assert "Cannot publish to redis" not in output and "Cannot receive from redis" not in output
            assert output.count("message queue unreachable") == 1, output
            assert output.count("message queue back") == 1, output
