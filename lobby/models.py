"""The data model (SQLAlchemy 2 typed style)."""

from __future__ import annotations

import datetime as dt
import enum
import secrets

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .domain import clock
from .extensions import db


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on every database.

    SQLite has no time zone type; storing naive UTC everywhere keeps comparisons
    and ordering correct on both SQLite and PostgreSQL.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware UTC datetimes")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)


def utcnow() -> dt.datetime:
    # Through the domain clock, so a test that sets the clock sets every timestamp.
    return clock.utcnow()


def new_public_id() -> str:
    """An opaque, unguessable id for URLs and the API."""
    return secrets.token_urlsafe(12)


def _enum(enum_cls, name):
    # Stored as the enum's value (readable in SQL), checked by a constraint.
    return Enum(
        enum_cls,
        name=name,
        values_callable=lambda e: [m.value for m in e],
        native_enum=False,
        create_constraint=True,
        length=20,
        validate_strings=True,
    )


class Role(str, enum.Enum):
    ADMIN = "admin"
    FRONTDESK = "frontdesk"
    CONSULTANT = "consultant"
    DOCTOR = "doctor"


class DutyStatus(str, enum.Enum):
    """The consultant's state on the rotation board (轮牌)."""

    AVAILABLE = "available"
    BUSY = "busy"
    AWAY = "away"
    OFF = "off"


class VisitKind(str, enum.Enum):
    APPOINTMENT = "appointment"
    WALK_IN = "walk-in"
    RETURNING = "returning"
    POST_OP = "post-op"
    COMPANION = "companion"
    COMPLAINT = "complaint"
    # 纯参观: received by the desk with brochures; may become a walk-in.
    BROWSING = "browsing"


class VisitStatus(str, enum.Enum):
    WAITING = "waiting"
    CALLED = "called"
    WITH_CONSULTANT = "with_consultant"
    WITH_DOCTOR = "with_doctor"
    DONE = "done"
    NO_SHOW = "no_show"
    LEFT = "left"


class AppointmentStatus(str, enum.Enum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class ClinicSettings(db.Model):
    """One row: the clinic's own settings."""

    __tablename__ = "clinic_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), default="Lobby")
    # None: the LOBBY_TIMEZONE of the deployment.
    timezone: Mapped[str | None] = mapped_column(String(64))
    open_all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    opens_at: Mapped[dt.time] = mapped_column(Time, default=dt.time(9, 0))
    closes_at: Mapped[dt.time] = mapped_column(Time, default=dt.time(21, 0))
    long_wait_minutes: Mapped[int] = mapped_column(Integer, default=20)
    kiosk_idle_seconds: Mapped[int] = mapped_column(Integer, default=90)
    # A staff session unused this long must log in again (shared front-desk laptops).
    staff_idle_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    early_arrival_minutes: Mapped[int] = mapped_column(Integer, default=120)
    late_arrival_minutes: Mapped[int] = mapped_column(Integer, default=30)
    mask_names_on_board: Mapped[bool] = mapped_column(Boolean, default=False)
    speech_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    speech_language: Mapped[str] = mapped_column(String(10), default="zh_CN")
    retention_days: Mapped[int] = mapped_column(Integer, default=365)
    # 客户归属: a client's own consultant is the first who served her ("first") or the latest ("latest").
    ownership_rule: Mapped[str] = mapped_column(String(10), default="first", server_default="first")
    # Whether a first visit that named its consultant (booking, request, A-class store) counts on the 轮牌.
    rotation_counts_designated: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # A waiting visitor is told again (phone notice, desk prompt) when their expected call moves by more.
    retell_threshold_minutes: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    # Lobby tablets carry a signed cookie of this generation; raising it signs every tablet out.
    kiosk_generation: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # 客服部: where a complaint goes when the head of its department is off duty (seed 002 §6.17).
    customer_service: Mapped[str | None] = mapped_column(String(120))

    @classmethod
    def with_defaults(cls) -> ClinicSettings:
        """An unsaved row of every column's default: the settings of a clinic that saved none yet.
        (The defaults are the columns' own: one place.)"""
        return cls(**{column.key: column.default.arg for column in cls.__table__.columns
                      if column.default is not None and not callable(column.default.arg)})


class Line(db.Model):
    """A queue line (皮肤 skin, 整形 surgery, 复查 post-op) with its ticket prefix."""

    __tablename__ = "lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    prefix: Mapped[str] = mapped_column(String(3), unique=True)
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60))
    colour: Mapped[str] = mapped_column(String(9), default="#8a6f5a")
    # The specialty a consultant needs to take visitors of this line by rotation.
    specialty: Mapped[str | None] = mapped_column(String(20))
    # Post-op visits (换药, 拆线, 复查) go to this line.
    post_op: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The head of this department (科室主任): a complaint about it is reported to them.
    head_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    services: Mapped[list[Service]] = relationship(back_populates="line")
    head: Mapped[Staff | None] = relationship()

    def name(self, locale: str) -> str:
        return self.name_en if locale.startswith("en") else self.name_zh


class Service(db.Model):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"))
    specialty: Mapped[str | None] = mapped_column(String(20))
    typical_minutes: Mapped[int] = mapped_column(Integer, default=20)
    preparation_zh: Mapped[str | None] = mapped_column(String(200))
    preparation_en: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    line: Mapped[Line] = relationship(back_populates="services")

    def name(self, locale: str) -> str:
        return self.name_en if locale.startswith("en") else self.name_zh


class Staff(UserMixin, db.Model):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    # Specialty codes (skin, injectables, eyes, nose, body, ...), the 擅长 of the rotation board.
    specialties: Mapped[list[str]] = mapped_column(JSON, default=list)
    room: Mapped[str | None] = mapped_column(String(40))
    # The desk's word on duty (available / away / off), for `duty_day` only and until `duty_until`;
    # otherwise the day's roster decides (domain/duty.py). None: set with no day (the demo seed).
    duty_status: Mapped[DutyStatus] = mapped_column(
        _enum(DutyStatus, "duty_status"), default=DutyStatus.OFF
    )
    duty_day: Mapped[dt.date | None] = mapped_column(Date)
    duty_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Order on the rotation board; ties in first visits go to the lower number.
    rotation_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login: disabled accounts cannot log in
        return self.active

    # Flask-Login keeps get_id() in the cookie: the token of this login's server-side session
    # (domain/staff_sessions.py), set when the session is opened or loaded, never the staff id.
    session_token = None
    session_id = None

    def get_id(self) -> str | None:
        return self.session_token

    # UserMixin compares users by get_id(); two staff members are the same only if they are one row.
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__


class StaffSession(db.Model):
    """A staff login, kept on the server (domain/staff_sessions.py): the cookie is good while this is open."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # sha256 of the random token the cookie carries; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # logout, idle, disabled, password
    ended_reason: Mapped[str | None] = mapped_column(String(20))

    staff: Mapped[Staff] = relationship()


class PartnerStore(db.Model):
    """A partner store (店家) that sends clients; A-class stores have their own consultant."""

    __tablename__ = "partner_stores"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # What bookings and integrations name the store by.
    code: Mapped[str | None] = mapped_column(String(20), unique=True)
    a_class: Mapped[bool] = mapped_column(Boolean, default=False)
    consultant_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    consultant: Mapped[Staff | None] = relationship()


class Client(db.Model):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True, default=new_public_id)
    name: Mapped[str | None] = mapped_column(String(80))
    # E.164 (+8613812345678); None once erased.
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    gender: Mapped[str | None] = mapped_column(String(10))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str | None] = mapped_column(String(20))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner_stores.id"))
    consultant_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # The operating surgeon (主刀医生) and date of the last surgery, for post-op visits.
    surgeon_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    surgery_date: Mapped[dt.date | None] = mapped_column(Date)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The language she used at the lobby tablet last: follow-up messages are written in it.
    language: Mapped[str | None] = mapped_column(String(10))

    partner: Mapped[PartnerStore | None] = relationship()
    consultant: Mapped[Staff | None] = relationship(foreign_keys=[consultant_id])
    surgeon: Mapped[Staff | None] = relationship(foreign_keys=[surgeon_id])


class Appointment(db.Model):
    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True, default=new_public_id)
    # What the visitor types at the kiosk with their phone number.
    code: Mapped[str] = mapped_column(String(8), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    status: Mapped[AppointmentStatus] = mapped_column(
        _enum(AppointmentStatus, "appointment_status"), default=AppointmentStatus.BOOKED
    )
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    client: Mapped[Client] = relationship()
    service: Mapped[Service] = relationship()
    staff: Mapped[Staff | None] = relationship()


class TicketCounter(db.Model):
    """The last ticket number given on a line on a clinic day (row-locked allocation)."""

    __tablename__ = "ticket_counters"

    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"), primary_key=True)
    clinic_day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Visit(db.Model):
    """One arrival: the ticket and everything that happens to it that day."""

    __tablename__ = "visits"
    __table_args__ = (UniqueConstraint("line_id", "clinic_day", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True, default=new_public_id)
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    clinic_day: Mapped[dt.date] = mapped_column(Date, index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"))
    # None for companions: they are linked to a visitor, not queued.
    number: Mapped[int | None] = mapped_column(Integer)
    ticket: Mapped[str | None] = mapped_column(String(10))
    kind: Mapped[VisitKind] = mapped_column(_enum(VisitKind, "visit_kind"))
    status: Mapped[VisitStatus] = mapped_column(
        _enum(VisitStatus, "visit_status"), default=VisitStatus.WAITING, index=True
    )
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    # One visit per appointment: a second check-in of the same booking is refused.
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"), unique=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))
    consultant_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # The doctor the visitor was handed to (with_doctor): his queue, his access to the visit.
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # Which triage rule chose the consultant (designated, own, partner, surgeon, rotation).
    triage_rule: Mapped[str | None] = mapped_column(String(20))
    # A new client's first visit: what 轮牌 balances.
    first_visit: Mapped[bool] = mapped_column(Boolean, default=False)
    companion_of_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    recall_count: Mapped[int] = mapped_column(Integer, default=0)
    # The wait we told the visitor at check-in, to measure the estimator later.
    predicted_wait_minutes: Mapped[int | None] = mapped_column(Integer)
    predicted_wait_max_minutes: Mapped[int | None] = mapped_column(Integer)
    # What the visitor was last told (at check-in, then each time it moved: domain/retell.py), when,
    # and whether the desk still has to tell them in person.
    told_wait_minutes: Mapped[int | None] = mapped_column(Integer)
    told_wait_max_minutes: Mapped[int | None] = mapped_column(Integer)
    told_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    retold_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    desk_must_tell: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    note: Mapped[str | None] = mapped_column(Text)
    # How the consultation ended (成交 / 未成交 / 考虑: domain/visits.OUTCOMES) and when to talk again.
    outcome: Mapped[str | None] = mapped_column(String(12))
    # The treatments agreed at a deal (service codes), when the consultant says.
    services_agreed: Mapped[list | None] = mapped_column(JSON)
    next_contact: Mapped[dt.date | None] = mapped_column(Date)
    # A check-in whose typed identity the desk must look at (see domain/identity.py): the flag, the
    # client on file it was compared with, and typed values that differ from the file.
    identity_flag: Mapped[str | None] = mapped_column(String(20))
    identity_candidate_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    identity_typed: Mapped[dict | None] = mapped_column(JSON)

    checked_in_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    called_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    recalled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    consultation_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    doctor_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    no_show_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    left_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Why a visit ended as left when nobody saw them go ("day_closed").
    left_reason: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    line: Mapped[Line] = relationship()
    client: Mapped[Client | None] = relationship(foreign_keys=[client_id])
    identity_candidate: Mapped[Client | None] = relationship(foreign_keys=[identity_candidate_id])
    appointment: Mapped[Appointment | None] = relationship()
    service: Mapped[Service | None] = relationship()
    consultant: Mapped[Staff | None] = relationship(foreign_keys=[consultant_id])
    doctor: Mapped[Staff | None] = relationship(foreign_keys=[doctor_id])
    companion_of: Mapped[Visit | None] = relationship(remote_side=[id])


class RosterShift(db.Model):
    """One person's shift on one clinic day (排班): local start and end, and the breaks within."""

    __tablename__ = "roster_shifts"
    __table_args__ = (UniqueConstraint("clinic_day", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_day: Mapped[dt.date] = mapped_column(Date, index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    starts: Mapped[dt.time] = mapped_column(Time)
    ends: Mapped[dt.time] = mapped_column(Time)
    # [["12:00", "13:00"], ...], local times within the shift.
    breaks: Mapped[list] = mapped_column(JSON, default=list)

    staff: Mapped[Staff] = relationship()


class DayClose(db.Model):
    """A clinic day closed: who was still active was marked left, duty went back to the roster."""

    __tablename__ = "day_closes"

    clinic_day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    closed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    visits_closed: Mapped[int] = mapped_column(Integer, default=0)


class Reassignment(db.Model):
    """A change of consultant or line (换人咨询), with its reason."""

    __tablename__ = "reassignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    from_consultant_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    to_consultant_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    from_line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"))
    to_line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"))
    reason: Mapped[str] = mapped_column(String(200))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class HealthQuestionnaire(db.Model):
    """A visitor's health answers (sensitive personal information: staff only)."""

    __tablename__ = "health_questionnaires"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), unique=True)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    # Derived for staff badges: allergy, anticoagulant, pregnancy, keloid...
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    consent_privacy: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_photos: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    visit: Mapped[Visit] = relationship(backref=db.backref("questionnaire", uselist=False))


class AuditEntry(db.Model):
    """Who did what to whom, when and why. Never holds health answers."""

    __tablename__ = "audit_trail"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # "api:<key name>" or "kiosk" when no staff member acted.
    actor_label: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped[Staff | None] = relationship()
    visit: Mapped[Visit | None] = relationship()


class ApiKey(db.Model):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    # sha256 of the key: keys are long random strings, so a fast hash is enough.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class FollowUpContact(db.Model):
    """A follow-up done: the thank-you after a visit (seed 000 §2.5), the agreed next contact, or the
    call-back of a booking not kept (seed 002 §7.4). Marked by the member of staff who made it."""

    __tablename__ = "follow_up_contacts"
    # Marked once, even by two receptionists at the same moment (NULLs never collide).
    __table_args__ = (UniqueConstraint("purpose", "visit_id", "due_day"),
                      UniqueConstraint("purpose", "appointment_id", "due_day"))

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(12))  # thanks | next_contact | no_show
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"), index=True)
    due_day: Mapped[dt.date] = mapped_column(Date)
    contacted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    note: Mapped[str | None] = mapped_column(String(200))

    actor: Mapped[Staff | None] = relationship()


class Complaint(db.Model):
    """A complaint (投诉): calmed first, reported to the department's head — or to customer service
    when the head is off duty — then resolved and closed (seed 002 §6.17, §9; 001 §4)."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True, default=new_public_id)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), unique=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    line_id: Mapped[int | None] = mapped_column(ForeignKey("lines.id"))
    # The member of staff the complaint names, if any (a figure per person).
    about_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    clinic_day: Mapped[dt.date] = mapped_column(Date, index=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    what_happened: Mapped[str] = mapped_column(Text)
    calming_note: Mapped[str | None] = mapped_column(Text)
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    escalated_to_customer_service: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Why it went there: "head_on_duty", or why the head could not take it (on a break, off…).
    escalation_reason: Mapped[str | None] = mapped_column(String(20))
    resolution: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    visit: Mapped[Visit | None] = relationship()
    client: Mapped[Client | None] = relationship()
    line: Mapped[Line | None] = relationship()
    about_staff: Mapped[Staff | None] = relationship(foreign_keys=[about_staff_id])
    received_by: Mapped[Staff | None] = relationship(foreign_keys=[received_by_id])
    escalated_to: Mapped[Staff | None] = relationship(foreign_keys=[escalated_to_id])
    closed_by: Mapped[Staff | None] = relationship(foreign_keys=[closed_by_id])


class PartnerRegistration(db.Model):
    """报备: a partner store announces a client before she comes; the desk verifies (核定) the store's
    class at check-in before triage (seed 004 市场部)."""

    __tablename__ = "partner_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True, default=new_public_id)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner_stores.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who registered: the store's integration (API key name) or the member of staff on its behalf.
    registered_by: Mapped[str] = mapped_column(String(80))
    expected_day: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(200))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    partner: Mapped[PartnerStore] = relationship()
    client: Mapped[Client] = relationship()
    visit: Mapped[Visit | None] = relationship()
    verified_by: Mapped[Staff | None] = relationship()


class WebhookEndpoint(db.Model):
    """Where the clinic's CRM or SMS gateway wants to hear of events (signed with `secret`)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(64))
    # The event names sent there; empty means every event.
    events: Mapped[list] = mapped_column(JSON, default=list)
    # Whether payloads carry the client's name and phone (else only ids, tickets and figures).
    personal_data: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(db.Model):
    """The outbox: one event for one endpoint, written in the transaction of the change itself (so a
    rolled-back change sends nothing), sent after the commit, retried with back-off until delivered."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The id receivers use to drop a repeat (delivery is at least once).
    delivery_id: Mapped[str] = mapped_column(String(24), unique=True, default=new_public_id)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # A sender working on it holds it until then (another process leaves it alone meanwhile).
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))

    endpoint: Mapped[WebhookEndpoint] = relationship()


class QueueVersion(db.Model):
    """One row: the number of changes the queue has seen. Every commit that changes what the screens
    show raises it (lobby/queue_state.py), in the same transaction: a state read with version N holds
    every change up to N, in whichever process it was made, so a screen never goes back."""

    __tablename__ = "queue_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class RequestKey(db.Model):
    """A write already done, by the idempotency key its request carried (lobby/idempotency.py): saved
    in the transaction of the change itself, so a retry finds it exactly when the change was made.
    Its first answer is kept to be sent again; keys go when their day is closed."""

    __tablename__ = "request_keys"
    __table_args__ = (UniqueConstraint("owner", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80))
    # Who sent it ("staff:7", "api:front-desk", "public"): keys are theirs, never answered to anyone else.
    owner: Mapped[str] = mapped_column(String(80))
    request_line: Mapped[str] = mapped_column(String(400))  # "POST /admin/call-next"
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of what was sent
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The first answer, once sent (None: the change was saved, its answer was not; or still on its way).
    status: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[dict | None] = mapped_column(JSON)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
