"""The health questionnaire: what the visitor answers in private, checked, and the flags staff need.

Health answers are sensitive personal information (PIPL): only staff ever see
them; public screens and phones never carry them (see board.py).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import HealthQuestionnaire, Visit
from . import events
from .audit import Actor, audit

# Each history question may be answered "none" (an explicit 无), which staff tell apart from a
# question left blank ("not answered").
NONE = "none"
ALLERGIES = ("drugs", "anaesthetics", "fillers", "latex")
CHRONIC = ("hypertension", "diabetes", "heart_disease", "bleeding_disorder", "keloid", "autoimmune", "infectious")
MEDICATION = ("anticoagulants", "isotretinoin", "hormones", "other")
PREGNANCY = ("no", "pregnant", "breastfeeding", "unsure")
NOT_ASKED = "not_asked"  # pregnancy, for a visitor it cannot apply to (asks_pregnancy)
PREGNANCY_AGES = (14, 55)
SMOKING = ("no", "yes", "quit")
TEXTS = {"allergy_detail": 300, "surgery_history": 500, "procedure_history": 500, "medication_detail": 300}

# Answers that change what staff may do today, shown as badges on the front desk.
def named(values) -> list[str]:
    """The options ticked, without an explicit "none"."""
    return [v for v in (values or []) if v != NONE]


FLAG_RULES = (
    ("allergy", lambda a: bool(named(a["allergies"]) or a["allergy_detail"])),
    ("anticoagulant", lambda a: "anticoagulants" in a["medication"]),
    ("pregnancy", lambda a: a["pregnancy"] in ("pregnant", "breastfeeding", "unsure")),
    ("keloid", lambda a: "keloid" in a["chronic"]),
    ("bleeding", lambda a: "bleeding_disorder" in a["chronic"]),
    ("isotretinoin", lambda a: "isotretinoin" in a["medication"]),
    ("infectious", lambda a: "infectious" in a["chronic"]),
)


ANSWER_FIELDS = ("allergies", "chronic", "medication", "pregnancy", "smoking", *TEXTS, "surgery_none")
HISTORY = ("allergies", "chronic", "medication", "surgery")


def asks_pregnancy(gender: str | None, birth_year: int | None, year: int) -> bool:
    """Whether the pregnancy question applies: not to men, nor to anyone whose age (when known)
    is outside PREGNANCY_AGES; asked whenever the visitor's details do not say."""
    if gender == "male":
        return False
    if birth_year:
        low, high = PREGNANCY_AGES
        return low <= year - int(birth_year) <= high
    return True


def history_state(answers: dict, question: str) -> str:
    """How a history question was answered, for staff: "given", "none" (无) or "unanswered"."""
    if question == "surgery":
        if answers.get("surgery_history") or answers.get("procedure_history"):
            return "given"
        return "none" if answers.get("surgery_none") else "unanswered"
    detail = {"allergies": "allergy_detail", "medication": "medication_detail"}.get(question)
    chosen = answers.get(question) or []
    if named(chosen) or (detail and answers.get(detail)):
        return "given"
    return "none" if NONE in chosen else "unanswered"


def yes(value) -> bool:
    """A ticked box, as a browser or a JSON client sends it."""
    return value in ("1", "on", "yes", "true", True)


def flags_of(answers: dict) -> list[str]:
    """The badges staff see for these answers (allergy, anticoagulant...)."""
    return [flag for flag, rule in FLAG_RULES if rule(answers)]


def record_answers(session: Session, visit: Visit, answers: dict, flags: list[str], consents: dict, *,
                   actor: Actor) -> HealthQuestionnaire:
    """A visit's questionnaire, once: at the kiosk's check-in, or later at the desk (audited either way)."""
    form = HealthQuestionnaire(visit_id=visit.id, answers=answers, flags=flags, consent_privacy=consents["privacy"],
                               consent_photos=consents["photos"], consent_contact=consents["contact"])
    session.add(form)
    audit(session, actor, "questionnaire", visit)
    events.record(session, "visit.questionnaire", visit=visit.public_id)
    return form


# The topics a returning visitor may be reminded of on the tablet (never what they answered).
TOPICS = (
    ("allergies", lambda a: bool(named(a.get("allergies")) or a.get("allergy_detail"))),
    ("surgery", lambda a: bool(a.get("surgery_history"))),
    ("procedures", lambda a: bool(a.get("procedure_history"))),
    ("conditions", lambda a: bool(named(a.get("chronic")))),
    ("medication", lambda a: bool(named(a.get("medication")) or a.get("medication_detail"))),
)


def last_questionnaire(session: Session, client_id: int | None,
                       before: Visit | None = None) -> HealthQuestionnaire | None:
    """A client's latest questionnaire (before this visit, when one is given). Staff go through it with
    the visitor; the tablet never shows it (previous_topics is all it may say)."""
    if client_id is None:
        return None
    query = select(HealthQuestionnaire).join(Visit).where(Visit.client_id == client_id)
    if before is not None:
        query = query.where(Visit.id != before.id, Visit.checked_in_at <= before.checked_in_at)
    return session.scalars(query.order_by(HealthQuestionnaire.submitted_at.desc())).first()


def previous_topics(session: Session, client_id: int) -> list[str]:
    """Which topics a client told us about last time: 'allergies', 'medication'... no answer itself."""
    previous = last_questionnaire(session, client_id)
    answers = previous.answers if previous else {}
    return [topic for topic, told in TOPICS if told(answers)]


def latest_contact_consents(session: Session, client_ids) -> dict[int, bool]:
    """Each client's latest word on being contacted (her last questionnaire's answer): a client who
    agreed once and refused later has refused. Clients never asked are not in the answer."""
    ids = {client_id for client_id in client_ids if client_id is not None}
    if not ids:
        return {}
    latest = (select(func.max(HealthQuestionnaire.id)).join(Visit, Visit.id == HealthQuestionnaire.visit_id)
              .where(Visit.client_id.in_(ids)).group_by(Visit.client_id))
    rows = session.execute(select(Visit.client_id, HealthQuestionnaire.consent_contact)
                           .join(Visit, Visit.id == HealthQuestionnaire.visit_id)
                           .where(HealthQuestionnaire.id.in_(latest)))
    return {client_id: bool(agreed) for client_id, agreed in rows}
