"""Socket.IO accepts its own origin by default, a configured list when set, and never any origin."""

import pytest
import socketio as socketio_client

from .serverproc import ServerProcess


def connects(server, origin) -> bool:
    client = socketio_client.Client(reconnection=False)
    try:
        client.connect(server.url, namespaces=["/display"], transports=["polling"], headers={"Origin": origin},
                       wait_timeout=5)
    except socketio_client.exceptions.ConnectionError:
        return False
    client.eio.disconnect(abort=True)  # no need to wait for the long poll to end politely
    return True


@pytest.fixture
def env(api, app, tmp_path):
    return {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "origins",
            "LOBBY_INSTANCE_PATH": str(tmp_path / "instance")}


def test_same_origin_only_by_default(env):
    with ServerProcess(env) as server:
        assert connects(server, server.url)
        assert not connects(server, "http://evil.example")


def test_a_configured_origin_list(env):
    with ServerProcess({**env, "LOBBY_CORS_ORIGINS": "http://tablet.clinic.example"}) as server:
        assert connects(server, "http://tablet.clinic.example")
        assert not connects(server, "http://evil.example")
