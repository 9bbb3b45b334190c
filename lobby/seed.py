"""A believable demo clinic, open around the clock so the demo works at any hour."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy.orm import Session

from .domain import checkin, clock
from .domain.appointments import _new_code
from .domain.audit import Actor
from .domain.settings import clinic_zone
from .models import (
    Appointment,
    AppointmentStatus,
    Client,
    ClinicSettings,
    DutyStatus,
    Line,
    PartnerStore,
    Role,
    Service,
    Staff,
    VisitKind,
)

SEED = Actor("seed-demo")  # the demo day's visitors, as the audit trail shows them

LINES = [
    # code, prefix, zh, en, colour, specialty, post_op
    ("skin", "A", "皮肤美容", "Skin & injectables", "#b08968", None, False),
    ("surgery", "B", "整形外科", "Plastic surgery", "#7f5539", None, False),
    ("post-op", "C", "术后复查", "Post-op care", "#6b705c", None, True),
]

SERVICES = [
    # code, zh, en, line, specialty, minutes, preparation zh, preparation en
    ("skin-consult", "皮肤检测与咨询", "Skin analysis & consultation", "skin", "skin", 20,
     "就诊前请勿化妆", "Please come without make-up"),
    ("ipl", "光子嫩肤", "IPL photorejuvenation", "skin", "skin", 20, "就诊前请勿化妆", "Please come without make-up"),
    ("laser-hair", "激光脱毛", "Laser hair removal", "skin", "skin", 15, None, None),
    ("acne", "痘痘与痘印治疗", "Acne and acne-scar care", "skin", "skin", 20,
     "就诊前请勿化妆", "Please come without make-up"),
    ("filler", "玻尿酸填充", "Hyaluronic acid filler", "skin", "injectables", 25, None, None),
    ("botox", "肉毒素除皱", "Botulinum toxin for wrinkles", "skin", "injectables", 20, None, None),
    ("eyelid", "双眼皮整形", "Double-eyelid surgery", "surgery", "eyes", 30, None, None),
    ("rhinoplasty", "鼻部整形", "Rhinoplasty", "surgery", "nose", 40, None, None),
    ("liposuction", "吸脂塑形", "Liposuction & body contouring", "surgery", "body", 40, None, None),
    ("breast", "胸部整形", "Breast surgery", "surgery", "body", 40, None, None),
    ("dressing", "换药", "Dressing change", "post-op", None, 10, None, None),
    ("sutures", "拆线", "Suture removal", "post-op", None, 10, None, None),
    ("review", "术后复查", "Post-op review", "post-op", None, 15, None, None),
]

CONSULTANTS = [
    # username, name, specialties, room, duty
    ("lin", "林晓", ["skin", "injectables"], "1", DutyStatus.AVAILABLE),
    ("zhou", "周敏", ["skin", "injectables"], "2", DutyStatus.AVAILABLE),
    ("chen", "陈静", ["eyes", "nose"], "3", DutyStatus.AVAILABLE),
    ("wang", "王蕾", ["body", "nose", "eyes"], "4", DutyStatus.AVAILABLE),
    ("zhao", "赵雅", ["skin", "eyes", "body", "injectables"], "5", DutyStatus.AVAILABLE),
    ("liu", "刘芳", ["skin", "injectables"], "6", DutyStatus.AWAY),
]

DOCTORS = [("dr_sun", "孙医生", "8"), ("dr_he", "何医生", "9")]

SURNAMES = "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["丽", "婷", "芳", "静", "敏", "雪", "琳", "欣怡", "雨涵", "思琪", "晓燕", "佳怡", "子涵", "梦瑶", "嘉欣", "伟", "强", "浩然"]


def _phone(rng: random.Random) -> str:
    return "+86" + rng.choice(["138", "139", "150", "186", "135", "177"]) + f"{rng.randrange(10**8):08d}"


def _person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(SURNAMES) + rng.choice(GIVEN), rng.choice(["female"] * 4 + ["male"])


def _seed_roster(session: Session, now: dt.datetime, consultants: dict, doctors: dict) -> None:
    """The coming week's roster (排班), from tomorrow: today the demo's duty is as the seed sets it, so
    the demo works whatever the hour it is started; from tomorrow duty follows the roster."""
    from .domain import roster

    today = clock.local_day(now, clinic_zone(session))
    for offset in range(1, 8):
        day = today + dt.timedelta(days=offset)
        entries = [{"username": username, "start": "09:00", "end": "21:00",
                    "breaks": [["12:00", "12:45"]] if order % 2 == 0 else [["12:45", "13:30"]]}
                   for order, username in enumerate(consultants) if not (username == "liu" and offset % 3 == 1)]
        entries += [{"username": username, "start": "09:00", "end": "18:00", "breaks": [["12:30", "13:30"]]}
                    for username in doctors]
        roster.replace_roster(session, day, entries, actor=SEED)


def seed_demo(session: Session, *, admin_password: str, now: dt.datetime | None = None) -> None:
    """Populate an empty database with a demo clinic. The caller commits."""
    rng = random.Random(2026)
    now = now or clock.utcnow()
    session.add(ClinicSettings(name="悦美医疗美容门诊部", open_all_day=True, opens_at=dt.time(9, 0),
                               closes_at=dt.time(21, 0), long_wait_minutes=20, kiosk_idle_seconds=90,
                               early_arrival_minutes=120, late_arrival_minutes=30, mask_names_on_board=True,
                               speech_enabled=True, speech_language="zh_CN", retention_days=365))
    lines = {}
    for position, (code, prefix, zh, en, colour, specialty, post_op) in enumerate(LINES):
        lines[code] = Line(code=code, prefix=prefix, name_zh=zh, name_en=en, colour=colour,
                           specialty=specialty, post_op=post_op, position=position)
    session.add_all(lines.values())
    services = {}
    for code, zh, en, line, specialty, minutes, prep_zh, prep_en in SERVICES:
        services[code] = Service(code=code, name_zh=zh, name_en=en, line=lines[line], specialty=specialty,
                                 typical_minutes=minutes, preparation_zh=prep_zh, preparation_en=prep_en)
    session.add_all(services.values())

    def staff(username, name, role, **extra):
        member = Staff(username=username, display_name=name, role=role, **extra)
        member.set_password(admin_password)
        session.add(member)
        return member

    staff("admin", "管理员", Role.ADMIN)
    staff("desk", "前台小美", Role.FRONTDESK)
    consultants = {
        username: staff(username, name, Role.CONSULTANT, specialties=specialties, room=room,
                        duty_status=duty, rotation_order=order)
        for order, (username, name, specialties, room, duty) in enumerate(CONSULTANTS)
    }
    doctors = {username: staff(username, name, Role.DOCTOR, room=room, duty_status=DutyStatus.AVAILABLE)
               for username, name, room in DOCTORS}
    partner = PartnerStore(name="丽人美容会所", code="LR01", a_class=True, consultant=consultants["wang"])
    session.add_all([partner, PartnerStore(name="悦颜工作室", code="YY02", a_class=False)])
    session.flush()
    _seed_roster(session, now, consultants, doctors)

    # Appointments spread around now, within today where the hour allows.
    tz = clinic_zone(session)
    day_start, day_end = clock.day_bounds(clock.local_day(now, tz), tz)
    first = max(day_start + dt.timedelta(minutes=5), now - dt.timedelta(hours=3))
    last = min(day_end - dt.timedelta(minutes=5), now + dt.timedelta(hours=5))
    step = (last - first) / 19
    bookable = [s for s in services.values() if s.line.code != "post-op"]
    appointments = []
    for i in range(20):
        name, gender = _person(rng)
        client = Client(name=name, phone=_phone(rng), gender=gender, birth_year=rng.randrange(1968, 2004),
                        channel=rng.choice(["online", "friend", "old-client", "ads", "partner"]))
        if i % 7 == 3:
            client.partner = partner
        start = (first + step * i).replace(second=0, microsecond=0)
        service = rng.choice(bookable)
        designated = consultants["chen"] if i % 5 == 0 and service.line.code == "surgery" else None
        appointment = Appointment(code=_new_code(session), client=client, service=service, staff=designated,
                                  starts_at=start, status=AppointmentStatus.BOOKED, created_at=now)
        session.add(appointment)
        session.flush()
        appointments.append(appointment)

    # A lively queue: arrivals for the earliest bookings, a walk-in, a returning and a post-op client.
    for appointment in appointments[:4]:
        if appointment.starts_at <= now + dt.timedelta(minutes=30):
            checkin.check_in(session, kind=VisitKind.APPOINTMENT, appointment=appointment, now=now, actor=SEED)
    name, gender = _person(rng)
    walk_in = Client(name=name, phone=_phone(rng), gender=gender, channel="online")
    session.add(walk_in)
    checkin.check_in(session, kind=VisitKind.WALK_IN, client=walk_in, service=services["filler"], now=now,
                     actor=SEED)
    name, gender = _person(rng)
    regular = Client(name=name, phone=_phone(rng), gender=gender, channel="old-client",
                     consultant=consultants["zhou"])
    session.add(regular)
    checkin.check_in(session, kind=VisitKind.RETURNING, client=regular, service=services["ipl"], now=now,
                     actor=SEED)
    name, gender = _person(rng)
    operated = Client(name=name, phone=_phone(rng), gender=gender, channel="friend", surgeon=doctors["dr_sun"],
                      surgery_date=(now - dt.timedelta(days=7)).date())
    session.add(operated)
    checkin.check_in(session, kind=VisitKind.POST_OP, client=operated, service=services["sutures"], now=now,
                     actor=SEED)
    session.flush()
