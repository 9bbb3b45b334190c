"""The visit state machine, call-next, reassignment, companions and domain events."""

import datetime as dt

import pytest
from sqlalchemy import select

from lobby.database import unit_of_work
from lobby.domain import audit, checkin, events, lookups, visits
from lobby.domain.duty import DutyBoard
from lobby.domain.errors import Conflict, IllegalTransition, ValidationError
from lobby.domain.visits import TRANSITIONS
from lobby.models import AuditEntry, DutyStatus, Reassignment, VisitKind, VisitStatus

from .factories import ACTOR, MORNING, in_consultation, new_client

S = VisitStatus
PATH_TO = {
    S.WAITING: [],
    S.CALLED: [S.CALLED],
    S.WITH_CONSULTANT: [S.CALLED, S.WITH_CONSULTANT],
    S.WITH_DOCTOR: [S.CALLED, S.WITH_CONSULTANT, S.WITH_DOCTOR],
    S.DONE: [S.CALLED, S.WITH_CONSULTANT, S.DONE],
    S.NO_SHOW: [S.CALLED, S.NO_SHOW],
    S.LEFT: [S.LEFT],
}
LEGAL = sorted((a, b) for a, targets in TRANSITIONS.items() for b in targets)
ILLEGAL = sorted((a, b) for a in S for b in S if b not in TRANSITIONS[a])


def new_visit(session, clinic, service=None, **kw):
    kw.setdefault("now", MORNING)
    with unit_of_work(session):
        return checkin.check_in(session, kind=VisitKind.WALK_IN, client=new_client(session),
                               service=service or clinic.services.peel, actor=ACTOR, **kw)


def doctor_for(clinic, target):
    """A hand-off to the doctor names him."""
    return clinic.staff.surgeon if target == S.WITH_DOCTOR else None


def visit_in(session, clinic, status):
    visit = new_visit(session, clinic)
    for step in PATH_TO[status]:
        with unit_of_work(session):
            visits.transition(session, visit, step, now=MORNING, actor=ACTOR, doctor=doctor_for(clinic, step))
    assert visit.status == status
    return visit


def test_the_legal_transitions_are_exactly_the_documented_ones():
    assert TRANSITIONS[S.WAITING] == {S.CALLED, S.LEFT}
    assert TRANSITIONS[S.CALLED] == {S.CALLED, S.WITH_CONSULTANT, S.NO_SHOW, S.LEFT}
    assert TRANSITIONS[S.WITH_CONSULTANT] == {S.WITH_DOCTOR, S.DONE, S.LEFT}
    assert TRANSITIONS[S.DONE] == set() and TRANSITIONS[S.LEFT] == set()


@pytest.mark.parametrize("current,target", LEGAL, ids=lambda s: s.value)
def test_legal_transition(session, clinic, current, target):
    visit = visit_in(session, clinic, current)
    later = MORNING + dt.timedelta(minutes=7)
    with unit_of_work(session):
        visits.transition(session, visit, target, now=later, actor=ACTOR, doctor=doctor_for(clinic, target))
    assert visit.status == target
    if current == target == S.CALLED:
        assert (visit.recall_count, visit.recalled_at) == (1, later)
    elif target != S.WAITING:
        stamp = {S.CALLED: "called_at", S.WITH_CONSULTANT: "consultation_started_at", S.WITH_DOCTOR: "doctor_at",
                 S.DONE: "done_at", S.NO_SHOW: "no_show_at", S.LEFT: "left_at"}[target]
        assert getattr(visit, stamp) == later
    entry = session.scalars(select(AuditEntry).where(AuditEntry.visit_id == visit.id)
                            .order_by(AuditEntry.id.desc())).first()
    assert entry.action == ("recall" if current == target == S.CALLED else target.value)


@pytest.mark.parametrize("current,target", ILLEGAL, ids=lambda s: s.value)
def test_illegal_transition_raises_and_changes_nothing(session, clinic, current, target):
    visit = visit_in(session, clinic, current)
    with pytest.raises(IllegalTransition) as raised:
        with unit_of_work(session):
            visits.transition(session, visit, target, actor=ACTOR, doctor=doctor_for(clinic, target))
    assert raised.value.params == {"current": current.value, "target": target.value}
    session.refresh(visit)
    assert visit.status == current


def test_consultant_is_busy_during_a_consultation_and_available_after(session, clinic):
    visit = new_visit(session, clinic, requested=clinic.staff.amy)
    for step in (S.CALLED, S.WITH_CONSULTANT):
        with unit_of_work(session):
            visits.transition(session, visit, step, actor=ACTOR, now=MORNING)
    assert DutyBoard(session, MORNING).of(clinic.staff.amy).status == DutyStatus.BUSY
    with unit_of_work(session):
        visits.transition(session, visit, S.DONE, actor=ACTOR, now=MORNING)
    assert DutyBoard(session, MORNING).of(clinic.staff.amy).status == DutyStatus.AVAILABLE


def test_call_next_takes_the_consultants_own_queue_in_arrival_order(session, clinic):
    first = new_visit(session, clinic, requested=clinic.staff.amy)
    new_visit(session, clinic, requested=clinic.staff.amy, now=MORNING + dt.timedelta(minutes=1))
    with unit_of_work(session):
        called = visits.call_next(session, clinic.staff.amy, now=MORNING + dt.timedelta(minutes=5), actor=ACTOR)
    assert called.id == first.id
    assert called.status == S.CALLED


def test_call_next_takes_an_unassigned_visitor_of_a_fitting_line(session, clinic):
    for member in (clinic.staff.bea, clinic.staff.cai):
        in_consultation(session, member, now=MORNING)
    waiting = new_visit(session, clinic, service=clinic.services.eyelid)
    assert waiting.consultant is None
    with pytest.raises(Conflict):  # dan does nose only
        with unit_of_work(session):
            visits.call_next(session, clinic.staff.dan, now=MORNING, actor=ACTOR)
    with unit_of_work(session):
        called = visits.call_next(session, clinic.staff.cai, now=MORNING, actor=ACTOR)
    assert called.id == waiting.id and called.consultant == clinic.staff.cai


def test_call_next_with_nobody_waiting_is_a_conflict(session, clinic):
    with pytest.raises(Conflict) as raised:
        with unit_of_work(session):
            visits.call_next(session, clinic.staff.amy, actor=ACTOR)
    assert raised.value.code == "nobody_waiting"


def test_reassign_consultant_records_reason_and_audit(session, clinic):
    visit = new_visit(session, clinic, requested=clinic.staff.amy)
    with unit_of_work(session):
        visits.reassign(session, visit, consultant=clinic.staff.bea, reason="visitor prefers a second opinion",
                        actor=audit.Actor("desk", clinic.staff.desk.id))
    assert visit.consultant == clinic.staff.bea
    record = session.scalars(select(Reassignment)).one()
    assert (record.from_consultant_id, record.to_consultant_id) == (clinic.staff.amy.id, clinic.staff.bea.id)
    assert record.reason == "visitor prefers a second opinion"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "reassign")).one()
    assert entry.actor_id == clinic.staff.desk.id


def test_reassign_line_gives_a_new_ticket_on_that_line_and_keeps_arrival_time(session, clinic):
    visit = new_visit(session, clinic)
    arrived = visit.checked_in_at
    with unit_of_work(session):
        visits.reassign(session, visit, line=clinic.lines.surgery, reason="wants eyelid surgery instead", actor=ACTOR)
    assert visit.ticket == "B001"
    assert visit.checked_in_at == arrived
    assert session.scalars(select(Reassignment)).one().to_line_id == clinic.lines.surgery.id


def test_reassigning_a_called_visitor_puts_them_back_to_waiting(session, clinic):
    visit = visit_in(session, clinic, S.CALLED)
    with unit_of_work(session):
        visits.reassign(session, visit, consultant=clinic.staff.bea if visit.consultant != clinic.staff.bea
                        else clinic.staff.amy, reason="swap", actor=ACTOR)
    assert visit.status == S.WAITING


@pytest.mark.parametrize("reason", ["", "   "])
def test_reassign_needs_a_reason(session, clinic, reason):
    visit = new_visit(session, clinic)
    with pytest.raises(ValidationError):
        with unit_of_work(session):
            visits.reassign(session, visit, consultant=clinic.staff.bea, reason=reason, actor=ACTOR)


def test_a_consultant_is_swapped_during_the_consultation_and_the_first_one_is_freed(session, clinic):
    # Seed 002 §6.11: 换人咨询 happens exactly then (this test asserted a refusal before).
    visit = visit_in(session, clinic, S.WITH_CONSULTANT)
    first = visit.consultant
    assert DutyBoard(session, MORNING).of(first).status == DutyStatus.BUSY
    later = MORNING + dt.timedelta(minutes=12)
    with unit_of_work(session):
        visits.reassign(session, visit, consultant=clinic.staff.bea, reason="visitor hesitant, second opinion",
                        actor=ACTOR, now=later)
    assert visit.status == S.WITH_CONSULTANT and visit.consultant == clinic.staff.bea
    assert visit.consultation_started_at == later
    board = DutyBoard(session, later)
    assert board.of(first).status == DutyStatus.AVAILABLE and board.of(clinic.staff.bea).status == DutyStatus.BUSY
    record = session.scalars(select(Reassignment)).one()
    assert (record.from_consultant_id, record.to_consultant_id, record.reason) == (
        first.id, clinic.staff.bea.id, "visitor hesitant, second opinion")


@pytest.mark.parametrize("status", [S.WITH_DOCTOR, S.DONE, S.LEFT])
def test_no_swap_once_the_doctor_is_in_or_the_visit_is_over(session, clinic, status):
    visit = visit_in(session, clinic, status)
    with pytest.raises(Conflict):
        with unit_of_work(session):
            visits.reassign(session, visit, consultant=clinic.staff.bea, reason="too late", actor=ACTOR)


def test_companion_has_no_ticket_and_follows_the_visitor(session, clinic):
    visit = new_visit(session, clinic)
    with unit_of_work(session):
        companion = checkin.add_companion(session, visit, name="李四", actor=ACTOR)
    assert companion.ticket is None and companion.number is None
    assert companion.companion_of == visit
    assert [v.id for v in lookups.queue_of_day(session, visit.clinic_day)] == [visit.id]
    for step in (S.CALLED, S.WITH_CONSULTANT, S.DONE):
        with unit_of_work(session):
            visits.transition(session, visit, step, actor=ACTOR)
    assert companion.status == S.DONE


def test_events_are_published_only_after_commit(session, clinic):
    seen = []
    events.subscribe(seen.extend)
    try:
        with pytest.raises(RuntimeError):
            with unit_of_work(session):
                checkin.check_in(session, kind=VisitKind.WALK_IN, line=clinic.lines.skin, now=MORNING, actor=ACTOR)
                assert seen == []  # recorded, not yet published
                raise RuntimeError("rolled back")
        assert seen == []
        with unit_of_work(session):
            visit = checkin.check_in(session, kind=VisitKind.WALK_IN, line=clinic.lines.skin, now=MORNING, actor=ACTOR)
            assert seen == []
        assert [(e.name, e.data["ticket"]) for e in seen] == [("visit.checked_in", visit.ticket)]
    finally:
        events.unsubscribe(seen.extend)


def test_call_and_recall_are_one_rule_for_every_surface(session, clinic):
    visit = new_visit(session, clinic)
    with pytest.raises(IllegalTransition):
        with unit_of_work(session):
            visits.move(session, visit, "recalled", actor=ACTOR)  # nobody called yet
    with unit_of_work(session):
        visits.move(session, visit, "called", actor=ACTOR)
    with pytest.raises(IllegalTransition):
        with unit_of_work(session):
            visits.move(session, visit, "called", actor=ACTOR)  # a second "call" is not a silent recall
    with unit_of_work(session):
        visits.move(session, visit, "recalled", actor=ACTOR)
    assert (visit.status, visit.recall_count) == (S.CALLED, 1)
    with pytest.raises(ValidationError):
        visits.move(session, visit, "teleported", actor=ACTOR)


def test_call_next_reads_the_unassigned_only_as_far_as_the_first_she_may_serve(session, clinic):
    """Call-next reads lean (dispatch.next_for): her own first visitor, and the unassigned in order
    only until the first she may serve — past a page of others she may not — never every visitor
    waiting today; and it picks whom the one rule (pick_next) picks over the whole queue."""
    from sqlalchemy import event

    from lobby.domain import dispatch
    from lobby.models import Visit

    amy, s, lines = clinic.staff.amy, clinic.services, clinic.lines
    arrivals = ([(s.eyelid, None)] * (dispatch.PAGE + 10) + [(s.peel, None), (s.peel, amy)]
                + [(s.peel, None)] * 14)
    for number, (service, consultant) in enumerate(arrivals, start=1):
        line = lines.skin if service is s.peel else lines.surgery
        session.add(Visit(clinic_day=MORNING.date(), line=line, number=number, ticket=f"{line.prefix}{number:03d}",
                          kind=VisitKind.WALK_IN, status=VisitStatus.WAITING, client=new_client(session),
                          service=service, consultant=consultant, checked_in_at=MORNING + dt.timedelta(minutes=number)))
    session.commit()
    amy_id = amy.id
    session.expunge_all()  # nothing in memory: every visit the call reads is loaded, and counted
    amy = session.get(type(amy), amy_id)
    loaded = []

    def note(visit, _context):
        loaded.append(visit.id)
    event.listen(Visit, "load", note)
    try:
        picked = dispatch.next_for(session, amy, MORNING.date())
    finally:
        event.remove(Visit, "load", note)
    assert picked.ticket == f"A{dispatch.PAGE + 11:03d}"  # the first peel, ahead of her own
    assert len(loaded) < len(arrivals) - 10
    everyone = session.scalars(select(Visit).where(Visit.status == VisitStatus.WAITING)).all()
    assert picked is dispatch.pick_next(amy, everyone)
    # Her own visitor comes first when no one she may serve arrived before them.
    with unit_of_work(session):
        visits.transition(session, picked, VisitStatus.CALLED, actor=ACTOR, now=MORNING + dt.timedelta(hours=1))
    assert dispatch.next_for(session, amy, MORNING.date()).consultant_id == amy.id


def test_a_colleague_calling_at_the_same_instant_skips_only_the_visitor_being_called(session, clinic):
    """Call-next locks only its pick until the call commits (FOR UPDATE SKIP LOCKED on PostgreSQL;
    SQLite has one writer at a time): a colleague calling at the same instant gets the longest-
    waiting visitor she may serve — never one skipped because the first call's read passed over it
    — and a pick already being called is passed over for the next."""
    from sqlalchemy.orm import Session

    from lobby.domain import dispatch
    from lobby.models import Staff, Visit

    s, lines = clinic.services, clinic.lines
    arrivals = [(lines.surgery, s.eyelid), (lines.skin, s.peel), (lines.skin, s.peel)]  # amy: skin only
    for number, (line, service) in enumerate(arrivals, start=1):
        session.add(Visit(clinic_day=MORNING.date(), line=line, number=number, ticket=f"{line.prefix}{number:03d}",
                          kind=VisitKind.WALK_IN, status=VisitStatus.WAITING, client=new_client(session),
                          service=service, checked_in_at=MORNING + dt.timedelta(minutes=number)))
    session.commit()
    amy, bea_id = clinic.staff.amy, clinic.staff.bea.id
    postgres = session.get_bind().dialect.name == "postgresql"
    amys = dispatch.next_for(session, amy, MORNING.date())  # her transaction stays open: the call not yet made
    assert amys.service_id == s.peel.id
    with Session(session.get_bind()) as colleague, Session(session.get_bind()) as third:
        beas = dispatch.next_for(colleague, colleague.get(Staff, bea_id), MORNING.date())
        assert beas.service_id == s.eyelid.id  # amy's read passed over it: not locked for that
        again = dispatch.next_for(third, third.get(Staff, amy.id), MORNING.date())  # from her other device
        if postgres:  # her first pick is being called: the next peel
            assert again.id != amys.id and again.service_id == s.peel.id
        colleague.rollback()
        third.rollback()
    session.rollback()
