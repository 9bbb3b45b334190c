"""Engine set-up that makes SQLite safe for concurrent writers.

SQLite: WAL (readers never block the writer), a busy timeout, synchronous=FULL
(a committed check-in survives a crash or power loss) and foreign keys on.
Transactions that will write (a `write_transaction`) begin IMMEDIATE: a
deferred transaction that reads and then writes cannot be retried by the busy
handler and fails with "database is locked" under concurrency, whatever the
timeout. Read-only transactions stay deferred, so a slow reader never holds
the write lock.
"""

import time
from contextlib import contextmanager

from flask import current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import scoped_session

from . import idempotency
from .domain.errors import RequestExpired

SQLITE_BUSY_TIMEOUT_MS = 15_000
WRITE_OPTION = "lobby_write"
RECEIVED = "lobby.received"  # WSGI environ: when the app got the request (time.monotonic())


def stamp_arrival(wsgi_app):
    """WSGI middleware: each request notes when it arrived, for the time limit of its writes."""
    def app(environ, start_response):
        environ.setdefault(RECEIVED, time.monotonic())
        return wsgi_app(environ, start_response)
    return app


def past_time_limit() -> bool:
    """Whether this request has outlived REQUEST_TIME_LIMIT_MS: under overload, the work for a
    caller who has given up (their client timed out) stops before it saves anything."""
    if not has_request_context():
        return False
    received = request.environ.get(RECEIVED)
    limit = current_app.config.get("REQUEST_TIME_LIMIT_MS")
    return bool(received is not None and limit and (time.monotonic() - received) * 1000 > limit)


def configure_engine(engine: Engine, *, timezone: str) -> None:
    """Attach the deployment's time zone and the per-dialect connection settings to a new engine."""
    from .domain.settings import ENGINE_TIMEZONE_OPTION

    engine.update_execution_options(**{ENGINE_TIMEZONE_OPTION: timezone})
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # Erased personal data is overwritten with zeros, not left in free space in the file.
        cursor.execute("PRAGMA secure_delete = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn):
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def flush_erased_pages(engine: Engine) -> None:
    """After an erasure or a purge: copy the write-ahead log into the database file and empty it,
    so that old page images holding erased data do not linger in lobby.db-wal. (PostgreSQL: the
    dead row versions go at the next VACUUM; see the README.)"""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


@contextmanager
def write_transaction(session):
    """Run the block in a fresh transaction that is going to write, then commit it.

    Whatever transaction the session had (reads) is ended first, so the write
    transaction starts with the write lock on SQLite and sees current data.
    Domain events recorded in the block are published after the commit. A request past its time
    limit is rolled back instead (RequestExpired): its caller retries with the same key. The
    request's idempotency key is saved in the first such transaction (lobby/idempotency.py).
    """
    if isinstance(session, scoped_session):
        session = session()
    if past_time_limit():  # waited too long already: no work for a caller who has gone
        raise RequestExpired()
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={WRITE_OPTION: True})
    try:
        idempotency.claim(session)  # the request's key, if it carries one, saved with the change
        yield session
        if past_time_limit():
            raise RequestExpired()
        session.commit()
    except BaseException:
        session.rollback()
        idempotency.unclaim()
        raise


# What the views and the CLI call it: one unit of work, committed as a whole or not at all.
unit_of_work = write_transaction
