"""Command line: flask --app wsgi <command> (db upgrade, seed-demo, create-staff, create-api-key, purge)."""

from __future__ import annotations

import os
import secrets

import click
from flask import Flask
from sqlalchemy import select

from .database import flush_erased_pages
from .extensions import db
from .models import Role, Staff


def register_cli(app: Flask) -> None:
    register_privacy_cli(app)
    register_day_cli(app)

    @app.cli.command("create-staff")
    @click.option("--username", required=True)
    @click.option("--password", required=True)
    @click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
    @click.option("--name", "display_name", default=None, help="Name shown to colleagues and visitors.")
    def create_staff(username: str, password: str, role: str, display_name: str | None):
        """Create a staff account (or reset its password and role)."""
        if len(password) < 8:
            raise click.BadParameter("at least 8 characters", param_hint="--password")
        staff = db.session.scalars(select(Staff).where(Staff.username == username)).first()
        if staff is None:
            staff = Staff(username=username, display_name=display_name or username, role=Role(role))
            db.session.add(staff)
            verb = "created"
        else:
            staff.role = Role(role)
            if display_name:
                staff.display_name = display_name
            verb = "updated"
            # A password reset ends the account's open sessions, as on the settings page.
            from .domain import staff_sessions
            from .domain.audit import Actor

            staff_sessions.end_all(db.session, staff, staff_sessions.PASSWORD, actor=Actor("cli"))
        staff.set_password(password)
        db.session.commit()
        click.echo(f"{verb} {role} {username}")

    @app.cli.command("create-api-key")
    @click.option("--name", required=True, help="Who uses the key, e.g. the booking system's name.")
    def create_api_key_command(name: str):
        """Create an API key and print it once."""
        from .api.keys import create_api_key

        _, plain = create_api_key(db.session, name)
        db.session.commit()
        click.echo(plain)

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when the clinic already has staff.")
    @click.option("--credentials-file", type=click.Path(dir_okay=False), default=None,
                  help="Also write the demo login to this file (mode 600).")
    def seed_demo_command(if_empty: bool, credentials_file: str | None):
        """A demo clinic: lines, services, consultants, today's appointments."""
        from .seed import seed_demo

        if if_empty and db.session.scalar(select(Staff.id).limit(1)) is not None:
            click.echo("demo data already present; not seeding again")
            return
        password = secrets.token_urlsafe(9)
        seed_demo(db.session, admin_password=password)
        db.session.commit()
        login = f"Demo login: http://127.0.0.1:{os.environ.get('PORT', '5000')}/admin/login  user: admin  password: {password}"
        click.echo(login)
        if credentials_file:
            with open(credentials_file, "w") as fh:
                fh.write(login + "\n")
            os.chmod(credentials_file, 0o600)


def register_day_cli(app: Flask) -> None:
    @app.cli.command("close-day")
    @click.option("--date", "day", default=None, help="The clinic day to close (YYYY-MM-DD); today by default.")
    def close_day_command(day: str | None):
        """Close a clinic day: anyone still active is marked left ("day closed"), duty goes back to the roster."""
        from .database import unit_of_work
        from .domain.audit import Actor
        from .domain.dayclose import close_day
        from .domain.settings import clinic_day
        from .domain.text import parse_day

        wanted = parse_day(day) if day else clinic_day(db.session)
        if wanted is None:
            raise click.BadParameter("a day written YYYY-MM-DD", param_hint="--date")
        with unit_of_work(db.session):
            closed = close_day(db.session, wanted, actor=Actor("cli"))
        click.echo(f"closed {wanted.isoformat()}: {closed} visit(s) marked left")


def register_privacy_cli(app: Flask) -> None:
    @app.cli.command("purge")
    def purge_command():
        """Forget personal data older than the retention period (run daily from cron or a timer)."""
        from .database import unit_of_work
        from .domain.audit import PURGE
        from .domain.privacy_lifecycle import purge

        with unit_of_work(db.session):
            report = purge(db.session, actor=PURGE)
        flush_erased_pages(db.engine)
        click.echo(f"purged before {report.cutoff}: {report.clients} client(s), "
                   f"{report.questionnaires} questionnaire(s)")
