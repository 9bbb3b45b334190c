"""A small, fixed clinic for tests: three lines, a few services, four consultants, a surgeon."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from werkzeug.security import generate_password_hash

from lobby.domain.audit import Actor
from lobby.models import (
    Client,
    ClinicSettings,
    DutyStatus,
    Line,
    PartnerStore,
    Role,
    Service,
    Staff,
)

PASSWORD = "correct horse battery"
# Who acts in domain tests: every change of the domain names its actor.
ACTOR = Actor("staff:tests")
_PASSWORD_HASH = generate_password_hash(PASSWORD)  # hashed once: scrypt is slow on purpose

# 2026-03-10 10:00 in Shanghai: a Tuesday morning, well inside opening hours.
MORNING = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.timezone.utc)


def staff(session, username, role=Role.CONSULTANT, specialties=(), room=None,
          duty=DutyStatus.AVAILABLE, order=0, name=None):
    member = Staff(username=username, display_name=name or username.title(), role=role,
                   specialties=list(specialties), room=room, duty_status=duty, rotation_order=order)
    member.password_hash = _PASSWORD_HASH
    session.add(member)
    return member


def build_clinic(session) -> SimpleNamespace:
    session.add(ClinicSettings(name="Test Clinic", timezone="Asia/Shanghai", open_all_day=False,
                               opens_at=dt.time(9), closes_at=dt.time(21), long_wait_minutes=20,
                               kiosk_idle_seconds=90, early_arrival_minutes=120, late_arrival_minutes=30,
                               mask_names_on_board=True, speech_enabled=True, speech_language="zh_CN",
                               retention_days=365))
    skin = Line(code="skin", prefix="A", name_zh="皮肤", name_en="Skin", specialty="skin", position=0)
    surgery = Line(code="surgery", prefix="B", name_zh="整形", name_en="Surgery", position=1)
    post_op = Line(code="post-op", prefix="C", name_zh="复查", name_en="Post-op", post_op=True, position=2)
    session.add_all([skin, surgery, post_op])
    services = SimpleNamespace(
        peel=Service(code="peel", name_zh="果酸焕肤", name_en="Chemical peel", line=skin, specialty="skin",
                     typical_minutes=20, preparation_zh="就诊前请勿化妆", preparation_en="No make-up, please"),
        eyelid=Service(code="eyelid", name_zh="双眼皮", name_en="Double eyelid", line=surgery, specialty="eyes",
                       typical_minutes=30),
        nose=Service(code="nose", name_zh="隆鼻", name_en="Rhinoplasty", line=surgery, specialty="nose",
                     typical_minutes=40),
        sutures=Service(code="sutures", name_zh="拆线", name_en="Suture removal", line=post_op, typical_minutes=10),
    )
    session.add_all(vars(services).values())
    people = SimpleNamespace(
        amy=staff(session, "amy", specialties=["skin"], room="1", order=0),
        bea=staff(session, "bea", specialties=["skin", "eyes"], room="2", order=1),
        cai=staff(session, "cai", specialties=["eyes", "nose"], room="3", order=2),
        dan=staff(session, "dan", specialties=["nose"], room="4", order=3),
        surgeon=staff(session, "dr_sun", role=Role.DOCTOR, room="8"),
        desk=staff(session, "desk", role=Role.FRONTDESK, duty=DutyStatus.OFF),
        admin=staff(session, "admin", role=Role.ADMIN, duty=DutyStatus.OFF),
    )
    partner_a = PartnerStore(name="A-class store", a_class=True, consultant=people.dan)
    partner_b = PartnerStore(name="Ordinary store", a_class=False, consultant=people.cai)
    session.add_all([partner_a, partner_b])
    session.commit()
    return SimpleNamespace(lines=SimpleNamespace(skin=skin, surgery=surgery, post_op=post_op),
                           services=services, staff=people,
                           partners=SimpleNamespace(a_class=partner_a, ordinary=partner_b))


_phone_counter = [0]


def new_client(session, name="张三华", **extra) -> Client:
    _phone_counter[0] += 1
    client = Client(name=name, phone=f"+86138{_phone_counter[0]:08d}", **extra)
    session.add(client)
    session.flush()
    return client


def in_consultation(session, member, now=MORNING):
    """Make `member` busy the way a clinic does: a visitor in front of them (duty follows the visits)."""
    from lobby.database import unit_of_work
    from lobby.domain import checkin, visits
    from lobby.models import VisitKind, VisitStatus

    with unit_of_work(session):
        visit = checkin.check_in(session, kind=VisitKind.RETURNING, client=new_client(session, name="忙碌中"),
                                 requested=member, actor=ACTOR, now=now)
        visits.transition(session, visit, VisitStatus.CALLED, actor=ACTOR, now=now)
        visits.transition(session, visit, VisitStatus.WITH_CONSULTANT, actor=ACTOR, now=now)
    return visit
