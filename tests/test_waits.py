"""Expected waits from the people ahead, the consultants on duty and typical minutes."""

import datetime as dt

from lobby.database import unit_of_work
from lobby.domain import checkin, visits, waits
from lobby.models import DutyStatus, VisitKind, VisitStatus

from .factories import ACTOR, MORNING, new_client


def arrive(session, service, minute=0, **kw):
    with unit_of_work(session):
        return checkin.check_in(session, kind=VisitKind.WALK_IN, client=new_client(session), service=service,
                               now=MORNING + dt.timedelta(minutes=minute), actor=ACTOR, **kw)


def test_visitors_queued_for_one_consultant_wait_for_those_ahead(session, clinic):
    peel = clinic.services.peel  # 20 minutes
    first = arrive(session, peel, 0, requested=clinic.staff.amy)
    second = arrive(session, peel, 1, requested=clinic.staff.amy)
    third = arrive(session, peel, 2, requested=clinic.staff.amy)
    snap = waits.snapshot(session, MORNING + dt.timedelta(minutes=2))
    assert [snap.for_visit(v).minutes for v in (first, second, third)] == [0, 20, 40]
    assert [snap.for_visit(v).position for v in (first, second, third)] == [1, 2, 3]


def test_a_consultation_in_progress_counts_its_remaining_minutes(session, clinic):
    nose = clinic.services.nose  # 40 minutes
    current = arrive(session, nose, 0, requested=clinic.staff.dan)
    with unit_of_work(session):
        visits.transition(session, current, VisitStatus.CALLED, now=MORNING, actor=ACTOR)
        visits.transition(session, current, VisitStatus.WITH_CONSULTANT, now=MORNING, actor=ACTOR)
    nxt = arrive(session, nose, 10, requested=clinic.staff.dan)
    snap = waits.snapshot(session, MORNING + dt.timedelta(minutes=10))
    assert snap.for_visit(nxt).minutes == 30


def test_more_consultants_on_duty_shorten_the_line_wait(session, clinic):
    eyelid = clinic.services.eyelid  # 30 minutes; bea and cai do eyes
    for member in (clinic.staff.bea, clinic.staff.cai):
        member.duty_status = DutyStatus.AWAY  # nobody free at check-in: all stay unassigned on the line
    session.commit()
    queued = [arrive(session, eyelid, i) for i in range(4)]
    assert all(v.consultant is None for v in queued)
    for member in (clinic.staff.bea, clinic.staff.cai):
        member.duty_status = DutyStatus.AVAILABLE
    session.commit()
    now = MORNING + dt.timedelta(minutes=4)
    two_on_duty = [waits.snapshot(session, now).for_visit(v).minutes for v in queued]
    clinic.staff.cai.duty_status = DutyStatus.AWAY
    session.commit()
    one_on_duty = [waits.snapshot(session, now).for_visit(v).minutes for v in queued]
    assert two_on_duty == [0, 0, 30, 30]
    assert one_on_duty == [0, 30, 60, 90]


def test_line_wait_is_what_a_newcomer_would_wait(session, clinic):
    clinic.staff.bea.duty_status = DutyStatus.AWAY
    for member in (clinic.staff.cai, clinic.staff.dan):
        member.duty_status = DutyStatus.BUSY
    session.commit()
    arrive(session, clinic.services.eyelid, 0)
    arrive(session, clinic.services.nose, 0)
    snap = waits.snapshot(session, MORNING)
    surgery = snap.for_line(clinic.lines.surgery)
    assert surgery.waiting == 2
    # cai takes the eyelid (30), dan the nose (40): the next is free in 30 minutes.
    assert surgery.minutes == 30
    assert snap.for_line(clinic.lines.skin).minutes == 0


def test_the_wait_told_at_check_in_is_kept_for_later_comparison(session, clinic):
    arrive(session, clinic.services.peel, 0, requested=clinic.staff.amy)
    second = arrive(session, clinic.services.peel, 0, requested=clinic.staff.amy)
    assert second.predicted_wait_minutes == 20


def test_called_and_finished_visitors_have_no_wait(session, clinic):
    visit = arrive(session, clinic.services.peel, 0)
    with unit_of_work(session):
        visits.transition(session, visit, VisitStatus.CALLED, now=MORNING, actor=ACTOR)
    assert waits.estimate_for_visit(session, visit, MORNING) == waits.WaitEstimate(0, 0)
