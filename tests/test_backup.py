"""A backup taken while the clinic works, restored into a fresh instance, holds the same visits;
a restore never overwrites a clinic's data unless told to, and a file that is not a backup changes
nothing. (SQLite in the SQLite pass, PostgreSQL with pg_dump/pg_restore in the PostgreSQL pass.)"""

import uuid

import pytest
from click.testing import Result
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from lobby import create_app
from lobby.extensions import db
from lobby.models import Visit

from .test_realtime import walk_in


@pytest.fixture
def fresh_database(app, tmp_path):
    """The address of an empty database of the same kind as the tests'."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"lobby_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def visits_of(app):
    with app.app_context():
        return sorted((v.public_id, v.ticket, v.status.value) for v in db.session.scalars(select(Visit)))


def run(app, *args) -> Result:
    return app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


def test_a_backup_restored_into_a_fresh_instance_holds_the_same_visits(app, api, tmp_path, fresh_database):
    walk_in(api)
    walk_in(api, name="李雪", phone="13900139000")
    assert api.post("/api/v1/consultants/amy/call-next").status_code == 200
    before = visits_of(app)
    assert len(before) == 2

    path = tmp_path / "nightly #1?" / "lobby.backup"  # characters a SQLite URI would misread
    path.parent.mkdir()
    done = run(app, "backup", str(path))
    assert done.exit_code == 0, done.output
    assert "2 visits" in done.output

    restored = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": fresh_database})
    done = run(restored, "restore", str(path))
    assert done.exit_code == 0, done.output
    assert visits_of(restored) == before
    with restored.app_context():
        db.engine.dispose()


def test_a_restore_refuses_to_overwrite_visits_unless_told(app, api, tmp_path):
    walk_in(api)
    path = tmp_path / "lobby.backup"
    assert run(app, "backup", str(path)).exit_code == 0
    walk_in(api, name="李雪", phone="13900139000")  # the clinic worked on after the backup
    refused = run(app, "restore", str(path))
    assert refused.exit_code != 0 and "--replace" in refused.output
    assert len(visits_of(app)) == 2  # nothing changed
    done = run(app, "restore", str(path), "--replace")
    assert done.exit_code == 0, done.output
    assert len(visits_of(app)) == 1


@pytest.mark.parametrize("content", [b"", b"not a backup at all", b"SQLite format 3\x00" + b"\x00" * 200])
def test_a_file_that_is_no_backup_changes_nothing(app, api, tmp_path, content):
    walk_in(api)
    path = tmp_path / "odd.backup"
    path.write_bytes(content)
    refused = run(app, "restore", str(path), "--replace")
    assert refused.exit_code != 0
    assert "Error:" in refused.output and "Traceback" not in refused.output
    assert len(visits_of(app)) == 1


def test_a_backup_into_a_missing_folder_says_so(app, tmp_path):
    refused = run(app, "backup", str(tmp_path / "nowhere" / "lobby.backup"))
    assert refused.exit_code != 0 and "no such folder" in refused.output
