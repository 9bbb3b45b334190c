"""A check-in that answered 2xx survives a crash of the server process."""

import json
import urllib.request

from lobby.models import Visit

from .serverproc import ServerProcess


def post_json(url, body, key):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_an_acknowledged_check_in_survives_kill_9(api, app, query, tmp_path):
    env = {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "crash-test",
           "LOBBY_INSTANCE_PATH": str(tmp_path / "server-instance")}
    server = ServerProcess(env).start()
    try:
        status, visit = post_json(server.url + "/api/v1/visits",
                                  {"name": "赵敏", "phone": "13700137000", "kind": "walk-in"}, api.key)
        assert status == 201
    finally:
        server.kill()
    stored = query(lambda s: s.query(Visit).filter_by(public_id=visit["id"]).one_or_none())
    assert stored is not None
    assert stored.ticket == visit["ticket"]
