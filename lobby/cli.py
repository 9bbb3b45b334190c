"""Command line: flask --app wsgi <command> (db upgrade, seed-demo, create-staff, create-api-key, purge,
backup, restore)."""

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
    register_backup_cli(app)
    register_privacy_cli(app)
    register_day_cli(app)
    register_replay_cli(app)


def register_backup_cli(app: Flask) -> None:
    from . import backup as backups

    @app.cli.command("backup")
    @click.argument("path", type=click.Path(dir_okay=False))
    def backup_command(path: str):
        """Write a backup of the clinic's data to PATH, while the server runs (SQLite: a SQLite file;
        PostgreSQL: a pg_dump archive)."""
        try:
            written = backups.backup(db.engine, path)
        except backups.BackupError as err:
            raise click.ClickException(str(err)) from None
        click.echo(f"backup written: {written} ({written.stat().st_size} bytes, "
                   f"{backups.visits_in(db.engine)} visits)")

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(dir_okay=False))
    @click.option("--replace", is_flag=True, help="Overwrite a database that already holds visits.")
    def restore_command(path: str, replace: bool):
        """Restore a backup made by `backup` into this server's database. Stop the server first; run
        `db upgrade` after, if the backup is of an older version."""
        try:
            held = backups.restore(db.engine, path, replace=replace)
        except backups.BackupError as err:
            raise click.ClickException(str(err)) from None
        click.echo(f"restored from {path}: {held} visits")


def register_replay_cli(app: Flask) -> None:
    @app.cli.command("replay")
    @click.argument("trace_file", required=False, type=click.Path(dir_okay=False))
    @click.option("--generate", "seed", type=int, default=None, help="Replay generated days with this seed instead.")
    @click.option("--days", default=11, show_default=True, help="Generated days (the last is the held-out one).")
    @click.option("--record", "record_days", default=None,
                  help="Write this clinic's own days as a trace instead (YYYY-MM-DD or FROM:TO).")
    @click.option("--out", type=click.Path(dir_okay=False), default="-", show_default=True,
                  help="Where the CSV (or the recorded trace) goes.")
    @click.option("--extra", default=None, help="What-if: one more consultant on duty, e.g. 14:00-18:00.")
    def replay_command(trace_file, seed, days, record_days, out, extra):
        """Run a recorded or generated day through Lobby on a simulated clock; write predicted vs actual
        waits (CSV) and print the estimate's accuracy. Nothing of the clinic's data is changed."""
        import csv
        import dataclasses
        import datetime as dt

        from . import replay as replaying
        from .domain.text import parse_day
        from .replay import generate, trace

        if record_days:
            first, _, last = record_days.partition(":")
            start, end = parse_day(first), parse_day(last or first)
            if start is None or end is None or end < start:
                raise click.BadParameter("YYYY-MM-DD or FROM:TO", param_hint="--record")
            wanted = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
            with click.open_file(out, "w", encoding="utf-8") as sink:
                sink.write(trace.dumps(trace.record(db.session, wanted)))
            return
        if seed is not None:
            loaded = generate.generate(seed, days=days)
        elif trace_file:
            try:
                with open(trace_file, encoding="utf-8") as source:
                    loaded = trace.loads(source.read())
            except (OSError, ValueError) as err:
                raise click.BadParameter(str(err), param_hint="TRACE_FILE") from err
        else:
            raise click.UsageError("name a trace file, or --generate SEED")
        what_if = None
        if extra:
            start_at, _, end_at = extra.partition("-")
            what_if = replaying.Extra(start_at.strip(), end_at.strip())
        from .domain.errors import DomainError

        try:
            outcomes = replaying.replay(loaded, extra=what_if)
        except (DomainError, ValueError) as err:  # a roster or a time in the trace that does not hold
            detail = f"{err.code} at {err.field}" if isinstance(err, DomainError) else err
            raise click.ClickException(f"the trace cannot be replayed: {detail}") from err
        with click.open_file(out, "w", encoding="utf-8") as sink:
            writer = csv.writer(sink)
            writer.writerow([field.name for field in dataclasses.fields(replaying.Outcome)])
            writer.writerows(dataclasses.astuple(o) for o in outcomes)
        last_day = [o for o in outcomes if o.day == loaded.days[-1].date] if loaded.days else []
        for label, chosen in (("all days", outcomes), ("last day", last_day)):
            found = replaying.accuracy(chosen)
            if found:
                click.echo(f"{label}: {found.visitors} visitors, mean abs error {found.mean_abs_error:.1f} min "
                           f"(rolling average {found.baseline_mean_abs_error:.1f}), within ±5 min "
                           f"{found.within_5:.0%}, above the upper bound {found.above_upper:.0%}, "
                           f"longest wait {found.longest_wait:.0f} min", err=out == "-")

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
