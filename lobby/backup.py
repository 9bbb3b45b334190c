"""Backups of the clinic's data and their restore (flask --app wsgi backup PATH / restore PATH).

SQLite: SQLite's own online backup, page by page, consistent while the server keeps writing; the
backup is a plain SQLite file. PostgreSQL: pg_dump's custom format, restored by pg_restore (the
PostgreSQL client tools must be installed). A restore goes into an empty database; one that
already holds visits is replaced only when asked to (`replace`), and the server processes should be
stopped first: they keep the queue's state in memory.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from urllib.request import pathname2url

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"


class BackupError(Exception):
    """Said to the operator as it is; nothing was changed."""


def backup(engine: Engine, target: str | os.PathLike) -> Path:
    target = Path(target)
    if not target.parent.is_dir():
        raise BackupError(f"no such folder: {target.parent}")
    # Written beside the target, then moved into place: a crash never leaves half a backup under its name.
    partial = Path(tempfile.mkstemp(prefix=target.name + ".", suffix=".partial", dir=target.parent)[1])
    try:
        if engine.url.get_backend_name() == "sqlite":
            _sqlite_copy(_sqlite_path(engine), partial)
        elif engine.url.get_backend_name() == "postgresql":
            _run(["pg_dump", "--format=custom", "--file", str(partial), _libpq_url(engine)], engine)
        else:
            raise BackupError(f"no backup for {engine.url.get_backend_name()} databases")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def restore(engine: Engine, source: str | os.PathLike, replace: bool = False) -> int:
    """Restore `source` into the configured database; returns how many visits it holds now."""
    source = Path(source)
    try:
        with source.open("rb") as opened:
            header = opened.read(16)
    except OSError as err:
        raise BackupError(f"cannot read {source}: {err.strerror}") from None
    backend = engine.url.get_backend_name()
    kind = "sqlite" if header.startswith(SQLITE_HEADER) else "postgresql" if header.startswith(PG_DUMP_HEADER) else None
    if kind is None:
        raise BackupError(f"{source} is not a Lobby backup (neither a SQLite file nor a pg_dump archive)")
    if kind != backend:
        raise BackupError(f"{source} is a {kind} backup; this server's database is {backend}")
    if kind == "sqlite":
        _check_sqlite_backup(source)
    held = visits_in(engine)
    if held and not replace:
        raise BackupError(f"the database already holds {held} visits; restore with --replace to overwrite them")
    engine.dispose()  # no pooled connection may keep the old pages
    if kind == "sqlite":
        _sqlite_copy(source, _sqlite_path(engine))
    else:
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              "--dbname", _libpq_url(engine), str(source)], engine)
    engine.dispose()
    return visits_in(engine)


def visits_in(engine: Engine) -> int:
    with engine.connect() as connection:
        if not inspect(connection).has_table("visits"):
            return 0
        return connection.execute(text("SELECT count(*) FROM visits")).scalar_one()


# --- SQLite ---------------------------------------------------------------------------------------


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory database has nothing to back up")
    return Path(database)


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{pathname2url(str(path.resolve()))}?mode=ro", uri=True)


def _sqlite_copy(source: Path, target: Path) -> None:
    src = _read_only(source)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    except sqlite3.DatabaseError as err:
        raise BackupError(f"{source}: {err}") from None
    finally:
        src.close()
        dst.close()


def _check_sqlite_backup(source: Path) -> None:
    connection = _read_only(source)
    try:
        if connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError(f"{source} is damaged (SQLite's integrity check fails)")
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as err:
        raise BackupError(f"{source}: {err}") from None
    finally:
        connection.close()
    if "visits" not in tables:
        raise BackupError(f"{source} is a SQLite file but not a Lobby database")


# --- PostgreSQL -----------------------------------------------------------------------------------


def _libpq_url(engine: Engine) -> str:
    """The database's address for pg_dump/pg_restore, without its password (given by PGPASSWORD)."""
    return engine.url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _run(command: list[str], engine: Engine) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (the PostgreSQL client tools)")
    env = dict(os.environ)
    if engine.url.password:
        env["PGPASSWORD"] = engine.url.password
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip() or done.returncode}")
