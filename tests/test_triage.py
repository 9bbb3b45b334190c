"""Triage: each rule, in its order (see lobby/domain/triage.py)."""

import datetime as dt

import pytest

from lobby.database import unit_of_work
from lobby.domain import checkin, triage
from lobby.models import Appointment, DutyStatus, VisitKind

from .factories import ACTOR, MORNING, in_consultation, new_client


def check_in(session, **kw):
    kw.setdefault("now", MORNING)
    kw.setdefault("actor", ACTOR)
    with unit_of_work(session):
        return checkin.check_in(session, **kw)


def test_designated_consultant_on_the_booking_wins(session, clinic):
    client = new_client(session, consultant=clinic.staff.amy)
    booking = Appointment(code="123456", client=client, service=clinic.services.nose, staff=clinic.staff.dan,
                          starts_at=MORNING)
    session.add(booking)
    visit = check_in(session, kind=VisitKind.APPOINTMENT, appointment=booking)
    assert (visit.consultant, visit.triage_rule) == (clinic.staff.dan, triage.DESIGNATED)


def test_a_consultant_the_visitor_asks_for_wins_over_their_own(session, clinic):
    client = new_client(session, consultant=clinic.staff.amy)
    visit = check_in(session, kind=VisitKind.WALK_IN, client=client, service=clinic.services.peel,
                     requested=clinic.staff.bea)
    assert (visit.consultant, visit.triage_rule) == (clinic.staff.bea, triage.REQUESTED)


def test_a_requested_consultant_is_honoured_even_when_busy(session, clinic):
    in_consultation(session, clinic.staff.bea)
    visit = check_in(session, kind=VisitKind.WALK_IN, service=clinic.services.peel, requested=clinic.staff.bea)
    assert visit.consultant == clinic.staff.bea


def test_returning_client_goes_to_their_own_consultant(session, clinic):
    client = new_client(session, consultant=clinic.staff.cai, partner=clinic.partners.a_class)
    visit = check_in(session, kind=VisitKind.RETURNING, client=client, service=clinic.services.eyelid)
    assert (visit.consultant, visit.triage_rule) == (clinic.staff.cai, triage.OWN_CONSULTANT)


def test_a_class_partner_store_client_goes_to_the_stores_consultant(session, clinic):
    client = new_client(session, partner=clinic.partners.a_class)
    visit = check_in(session, kind=VisitKind.WALK_IN, client=client, service=clinic.services.peel)
    assert (visit.consultant, visit.triage_rule) == (clinic.staff.dan, triage.PARTNER)


def test_ordinary_partner_store_client_goes_by_rotation(session, clinic):
    client = new_client(session, partner=clinic.partners.ordinary)
    visit = check_in(session, kind=VisitKind.WALK_IN, client=client, service=clinic.services.peel)
    assert visit.triage_rule == triage.ROTATION
    assert visit.consultant != clinic.partners.ordinary.consultant


def test_post_op_visit_goes_to_the_operating_surgeon_on_the_post_op_line(session, clinic):
    client = new_client(session, consultant=clinic.staff.amy, surgeon=clinic.staff.surgeon,
                        surgery_date=dt.date(2026, 3, 3))
    visit = check_in(session, kind=VisitKind.POST_OP, client=client, service=clinic.services.sutures)
    assert (visit.consultant, visit.triage_rule) == (clinic.staff.surgeon, triage.SURGEON)
    assert visit.line == clinic.lines.post_op
    assert visit.ticket == "C001"


def test_rotation_takes_only_consultants_whose_specialties_fit(session, clinic):
    # Nose: cai and dan fit; amy and bea do not.
    chosen = {check_in(session, kind=VisitKind.WALK_IN, service=clinic.services.nose).consultant for _ in range(4)}
    assert chosen == {clinic.staff.cai, clinic.staff.dan}


def test_rotation_balances_todays_first_visits_in_board_order(session, clinic):
    # Eyes: bea (order 1) and cai (order 2) fit; turns alternate, lower board order first.
    order = [check_in(session, kind=VisitKind.WALK_IN, service=clinic.services.eyelid).consultant.username
             for _ in range(4)]
    assert order == ["bea", "cai", "bea", "cai"]


def test_rotation_skips_busy_and_away_consultants(session, clinic):
    in_consultation(session, clinic.staff.bea)
    clinic.staff.cai.duty_status = DutyStatus.AWAY
    session.commit()
    visit = check_in(session, kind=VisitKind.WALK_IN, service=clinic.services.eyelid)
    assert visit.consultant is None
    assert visit.triage_rule == triage.UNASSIGNED
    assert visit.line == clinic.lines.surgery


def test_designated_visits_do_not_use_up_a_rotation_turn(session, clinic):
    check_in(session, kind=VisitKind.WALK_IN, service=clinic.services.eyelid, requested=clinic.staff.bea)
    check_in(session, kind=VisitKind.WALK_IN, service=clinic.services.eyelid, requested=clinic.staff.bea)
    visit = check_in(session, kind=VisitKind.WALK_IN, service=clinic.services.eyelid)
    assert visit.consultant == clinic.staff.bea  # still her turn by the board


def test_rotation_counts_restart_each_day(session, clinic):
    check_in(session, kind=VisitKind.WALK_IN, service=clinic.services.eyelid)  # bea's turn today
    tomorrow = MORNING + dt.timedelta(days=1)
    visit = check_in(session, kind=VisitKind.WALK_IN, service=clinic.services.eyelid, now=tomorrow)
    assert visit.consultant == clinic.staff.bea


def test_a_returning_visitor_with_no_consultant_does_not_count_as_a_first_visit(session, clinic):
    client = new_client(session)
    first = check_in(session, kind=VisitKind.WALK_IN, client=client, service=clinic.services.eyelid)
    assert first.first_visit
    again = check_in(session, kind=VisitKind.WALK_IN, client=client, service=clinic.services.eyelid,
                     now=MORNING + dt.timedelta(days=1))
    assert not again.first_visit


def test_a_disabled_own_consultant_falls_through_to_rotation(session, clinic):
    clinic.staff.amy.active = False
    client = new_client(session, consultant=clinic.staff.amy)
    visit = check_in(session, kind=VisitKind.RETURNING, client=client, service=clinic.services.peel)
    assert visit.triage_rule == triage.ROTATION
    assert visit.consultant == clinic.staff.bea


@pytest.mark.parametrize("kind", [VisitKind.COMPLAINT])
def test_complaints_wait_for_the_front_desk_not_a_consultant(session, clinic, kind):
    visit = check_in(session, kind=kind, client=new_client(session))
    assert visit.consultant is None
    assert visit.line == clinic.lines.skin  # the first line, where the desk sees it
