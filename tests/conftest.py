"""Fixtures: an app on a fresh SQLite file per test, or on the real PostgreSQL server
when TEST_DATABASE_URL is set (`make test` runs the suite both ways)."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lobby import create_app
from lobby.api.keys import create_api_key
from lobby.extensions import db

from .factories import build_clinic

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
_postgres_schema_ready = False


def ensure_postgres_database(url: str) -> None:
    """Create the test database on the server if it does not exist yet."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


@pytest.fixture(autouse=True)
def _webhook_senders_stop_with_their_test():
    """An app made as a server would be (not TESTING) starts its webhook sender, which would go on
    polling a database the test has dropped, and fill the end of the run with its warnings."""
    yield
    from lobby import webhook_sender

    for sender in list(webhook_sender._running):
        sender.stop(timeout=5)


@pytest.fixture
def database_url(tmp_path):
    if POSTGRES_URL:
        ensure_postgres_database(POSTGRES_URL)
        return POSTGRES_URL
    return f"sqlite:///{tmp_path / 'lobby.db'}"


@pytest.fixture
def app(tmp_path, database_url, monkeypatch):
    global _postgres_schema_ready
    monkeypatch.setenv("LOBBY_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("LOBBY_ENV", raising=False)
    app = create_app({"TESTING": True})
    with app.app_context():
        if POSTGRES_URL:
            if not _postgres_schema_ready:
                db.drop_all()
                db.create_all()
                _postgres_schema_ready = True
            else:
                truncate_all()
        else:
            db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def truncate_all() -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()


@pytest.fixture
def ctx(app):
    """An application context for domain tests (no HTTP)."""
    with app.app_context():
        yield app


@pytest.fixture
def session(ctx):
    return db.session


@pytest.fixture
def clinic(session):
    return build_clinic(session)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(app):
    """A test client that sends a valid API key, over the test clinic.

    No application context stays pushed: each request gets its own, as in production.
    """
    with app.app_context():
        build_clinic(db.session)
        _, plain = create_api_key(db.session, "tests")
        db.session.commit()
    test_client = app.test_client()
    headers = {"Authorization": f"Bearer {plain}"}

    def call(method: str, path: str, **kwargs):
        kwargs.setdefault("headers", {}).update(headers)
        return test_client.open(path, method=method, **kwargs)

    return SimpleNamespace(
        get=lambda path, **kw: call("GET", path, **kw),
        post=lambda path, **kw: call("POST", path, **kw),
        delete=lambda path, **kw: call("DELETE", path, **kw),
        put=lambda path, **kw: call("PUT", path, **kw),
        patch=lambda path, **kw: call("PATCH", path, **kw),
        key=plain,
    )


@pytest.fixture
def query(app):
    """Run a function against the database in a fresh application context."""

    def run(fn):
        with app.app_context():
            return fn(db.session)

    return run


class FrozenClock:
    """The domain clock, set by the test (tickets, triage and waits all read it)."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, **delta):
        import datetime as dt

        self.now += dt.timedelta(**delta)


@pytest.fixture
def frozen_clock(monkeypatch):
    from lobby.domain import clock

    from .factories import MORNING

    frozen = FrozenClock(MORNING)
    monkeypatch.setattr(clock, "utcnow", frozen)
    return frozen
