"""The desk's working day without HTTP: searching and grouping the list."""

import datetime as dt

import pytest

from lobby.database import unit_of_work
from lobby.domain import checkin, desk, waits
from lobby.models import Client, VisitKind

from .factories import ACTOR, MORNING


@pytest.fixture
def day(session, clinic):
    def arrive(name, phone, service, who=None, minute=0):
        with unit_of_work(session):
            client = Client(name=name, phone="+86" + phone)
            session.add(client)
            return checkin.check_in(session, kind=VisitKind.WALK_IN, client=client,
                                    service=service, requested=who, actor=ACTOR,
                                    now=MORNING + dt.timedelta(minutes=minute))
    s, people = clinic.services, clinic.staff
    return [arrive("张三华", "13800131234", s.peel, people.amy, 0),
            arrive("李四娟", "13900135678", s.eyelid, people.bea, 1),
            arrive("王五", "13700139012", s.nose, people.dan, 2),
            arrive("Emma Stone", "13600131234", s.peel, people.amy, 3)]


def found(session, term):
    snapshot = waits.QueueSnapshot(session, MORNING.date(), MORNING + dt.timedelta(minutes=5))
    return [r.visit.client.name for r in desk.desk_list(session, snapshot, search=term).rows]


@pytest.mark.parametrize("term, names", [
    ("A002", ["Emma Stone"]),            # a ticket
    ("b", ["李四娟", "王五"]),             # a ticket's letter: the surgery line
    ("四", ["李四娟"]),                   # part of a name
    ("emma", ["Emma Stone"]),           # names without regard to case
    ("1234", ["张三华", "Emma Stone"]),   # the last four digits of a phone
    ("9012", ["王五"]),
    ("0013", []),                       # inside a number, not its end: nobody
    ("dan", ["王五"]),                    # the consultant they are with
    ("Bea", ["李四娟"]),
    ("  ", ["张三华", "李四娟", "王五", "Emma Stone"]),
    ("赵", []),
])
def test_the_desk_searches_by_ticket_name_last_digits_and_consultant(session, day, term, names):
    assert found(session, term) == names


def test_the_list_groups_by_line_or_consultant_in_a_stable_order(session, clinic, day):
    snapshot = waits.QueueSnapshot(session, MORNING.date(), MORNING + dt.timedelta(minutes=5))
    rows = desk.desk_list(session, snapshot).rows
    by_line = desk.grouped(rows, "line")
    assert [(line.code, [r.visit.ticket for r in group]) for line, group in by_line] == [
        ("skin", ["A001", "A002"]), ("surgery", ["B001", "B002"])]
    by_person = desk.grouped(rows, "consultant")
    assert [(person.username, len(group)) for person, group in by_person] == [("amy", 2), ("bea", 1), ("dan", 1)]
    assert desk.grouped(rows, "nonsense") == [(None, rows)]
