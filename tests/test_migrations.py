"""The committed migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from lobby import create_app
from lobby.extensions import db
from lobby.models import VisitKind

from .conftest import POSTGRES_URL


@pytest.fixture
def empty_database_url(tmp_path):
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    url = make_url(POSTGRES_URL).set(database="lobby_test_migrations")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "lobby_test_migrations" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "lobby_test_migrations"'))
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "lobby_test_migrations" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_builds_the_models_schema_and_downgrade_removes_it(empty_database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("LOBBY_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", "migrations")
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    app = create_app({"TESTING": True})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
        # autogenerate does not compare CHECK constraints: every visit kind must be storable.
        checks = {c["name"]: c["sqltext"] for c in inspect(db.engine).get_check_constraints("visits")}
        assert all(kind.value in checks["ck_visits_visit_kind"] for kind in VisitKind)
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()
