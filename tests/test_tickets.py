"""Ticket numbers: consecutive per line per clinic day, under concurrency, across midnight."""

import datetime as dt
import threading

from sqlalchemy import select

from lobby.database import unit_of_work
from lobby.domain import checkin
from lobby.extensions import db
from lobby.models import Line, Visit, VisitKind

from .factories import ACTOR, MORNING, new_client

UTC = dt.timezone.utc


def walk_in(session, clinic, now=MORNING, line=None, **kw):
    with unit_of_work(session):
        return checkin.check_in(session, kind=VisitKind.WALK_IN, client=new_client(session),
                               line=line or clinic.lines.skin, now=now, actor=ACTOR, **kw)


def test_numbers_are_consecutive_per_line_with_prefix(session, clinic):
    first = walk_in(session, clinic)
    second = walk_in(session, clinic)
    other_line = walk_in(session, clinic, line=clinic.lines.surgery)
    assert (first.ticket, second.ticket) == ("A001", "A002")
    assert other_line.ticket == "B001"


def test_numbers_restart_at_the_clinics_local_midnight(session, clinic):
    # Shanghai is UTC+8: 15:59:59 UTC is 23:59:59 there, 16:00:01 UTC is the next day.
    before = dt.datetime(2026, 3, 10, 15, 59, 59, tzinfo=UTC)
    after = dt.datetime(2026, 3, 10, 16, 0, 1, tzinfo=UTC)
    first = walk_in(session, clinic, now=before - dt.timedelta(minutes=5))
    last_of_day = walk_in(session, clinic, now=before)
    first_of_next = walk_in(session, clinic, now=after)
    assert (first.ticket, last_of_day.ticket) == ("A001", "A002")
    assert first_of_next.ticket == "A001"
    assert last_of_day.clinic_day == dt.date(2026, 3, 10)
    assert first_of_next.clinic_day == dt.date(2026, 3, 11)


def test_midnight_follows_the_configured_timezone(session, clinic):
    from lobby.domain.settings import get_settings

    get_settings(session).timezone = "Europe/London"
    session.commit()
    # 23:30 UTC is still the same day in London (winter), but already the next day in Shanghai.
    visit = walk_in(session, clinic, now=dt.datetime(2026, 1, 10, 23, 30, tzinfo=UTC))
    assert visit.clinic_day == dt.date(2026, 1, 10)


def test_fifty_concurrent_check_ins_get_fifty_consecutive_numbers(app, clinic):
    line_id = clinic.lines.skin.id
    barrier = threading.Barrier(50)
    errors = []

    def check_in_one():
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                session = db.session
                with unit_of_work(session):
                    checkin.check_in(session, kind=VisitKind.WALK_IN, line=session.get(Line, line_id), now=MORNING, actor=ACTOR)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=check_in_one) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with app.app_context():
        numbers = sorted(db.session.scalars(select(Visit.number).where(Visit.line_id == line_id)))
    assert numbers == list(range(1, 51))


def test_a_rolled_back_check_in_gives_its_number_back(session, clinic):
    walk_in(session, clinic)
    try:
        with unit_of_work(session):
            checkin.check_in(session, kind=VisitKind.WALK_IN, line=clinic.lines.skin, now=MORNING, actor=ACTOR)
            raise RuntimeError("crash before commit")
    except RuntimeError:
        pass
    assert walk_in(session, clinic).ticket == "A002"


def test_same_idempotency_key_returns_the_same_ticket(session, clinic):
    first = walk_in(session, clinic, idempotency_key="tablet-1:42")
    again = walk_in(session, clinic, idempotency_key="tablet-1:42")
    assert again.id == first.id
    assert session.scalar(select(db.func.count()).select_from(Visit)) == 1


def test_concurrent_repeats_of_one_idempotency_key_make_one_visit(app, clinic):
    """A double tap sends the same check-in twice at once: one ticket, both answers name it."""
    line_id = clinic.lines.skin.id
    barrier = threading.Barrier(8)
    results, errors = [], []

    def submit():
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                session = db.session

                def make_visit():
                    return checkin.check_in(session, kind=VisitKind.WALK_IN, line=session.get(Line, line_id),
                                           idempotency_key="tap-tap", now=MORNING, actor=ACTOR)

                results.append(checkin.check_in_once(session, "tap-tap", make_visit).public_id)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == 8 and len(set(results)) == 1
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Visit)) == 1
