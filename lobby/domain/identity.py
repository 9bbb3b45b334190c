"""Who is checking in: the client a check-in's typed details belong to, without trusting a phone number.

A mobile number alone proves nothing: anyone in the lobby can type one. On the
public tablet a client on file is recognised only with a second factor, the
name *and* the year of birth on file (an appointment is recognised by its
booking code or signed QR code instead). Staff and the API, who are
authenticated, need the name to match.

A check-in never edits a client on file. When what was typed disagrees with the
client who has that phone, the visit is made with what was typed, and the
desk sees a flag until a person resolves it:

- `phone_mismatch` — same phone, different name (or the second factor failed):
  a new client record holds what was typed; the desk decides "same person"
  (merge into the client on file) or "different people" (keep both);
- `details_differ` — the same person, but gender, year of birth, channel or
  partner store differ from the file (or the file has none): the desk updates
  the file or keeps it;
- `not_on_file` — the visitor said they had been before, but nobody has that
  phone: the desk looks into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models import (
    Appointment,
    AuditEntry,
    Client,
    Complaint,
    PartnerRegistration,
    Visit,
)
from .errors import Conflict, ValidationError
from .text import same_name

PHONE_MISMATCH = "phone_mismatch"
DETAILS_DIFFER = "details_differ"
NOT_ON_FILE = "not_on_file"
FLAGS = (PHONE_MISMATCH, DETAILS_DIFFER, NOT_ON_FILE)

# Profile fields compared with the file (the name and phone identify; these describe).
PROFILE_FIELDS = ("gender", "birth_year", "channel", "partner_id")

# What the desk may decide for each flag.
DECISIONS = {
    PHONE_MISMATCH: ("same_person", "different_people"),
    DETAILS_DIFFER: ("update_file", "keep_file"),
    NOT_ON_FILE: ("dismiss",),
}


@dataclass(frozen=True)
class TypedIdentity:
    """What a visitor (or a colleague, or an integration) typed about who they are."""

    name: str
    phone: str
    gender: str | None = None
    birth_year: int | None = None
    channel: str | None = None
    partner_id: int | None = None


@dataclass(frozen=True)
class Identification:
    """The outcome: the client on file this is (if proven), and what the desk must look at."""

    typed: TypedIdentity
    client: Client | None
    flag: str | None = None
    candidate: Client | None = None
    differing: dict = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return self.client is not None


def clients_with_phone(session: Session, phone: str) -> list[Client]:
    return list(session.scalars(
        select(Client).where(Client.phone == phone, Client.erased_at.is_(None)).order_by(Client.id)))


def _proves(client: Client, typed: TypedIdentity, second_factor: bool) -> bool:
    if not same_name(client.name, typed.name):
        return False
    if second_factor:
        # The public tablet: the year of birth on file must be given, and right.
        return client.birth_year is not None and client.birth_year == typed.birth_year
    return client.birth_year is None or typed.birth_year is None or client.birth_year == typed.birth_year


def identify(session: Session, typed: TypedIdentity, *, second_factor: bool, returning: bool = False,
             allow_verification: bool = True) -> Identification:
    """Which client on file these details prove, if any. Reads only; never changes a client.

    `second_factor`: the public tablet, where the year of birth must match too.
    `returning`: the visitor says they have been before (a missing record is flagged).
    `allow_verification`: False once a phone has failed too often today; nothing is proven then.
    """
    candidates = clients_with_phone(session, typed.phone)
    if not candidates:
        return Identification(typed, None, NOT_ON_FILE if returning else None)
    match = next((c for c in candidates if _proves(c, typed, second_factor)), None) if allow_verification else None
    if match is None:
        # Prefer the client whose name was typed (a forgotten or missing year of birth).
        candidate = next((c for c in candidates if same_name(c.name, typed.name)), candidates[0])
        return Identification(typed, None, PHONE_MISMATCH, candidate)
    # What was typed and is not on file (a blank on file included) is for the desk to apply.
    differing = {name: getattr(typed, name) for name in PROFILE_FIELDS
                 if getattr(typed, name) is not None and getattr(typed, name) != getattr(match, name)}
    return Identification(typed, match, DETAILS_DIFFER if differing else None, differing=differing)


def client_for(session: Session, found: Identification, **known) -> Client:
    """The client the visit is recorded against: the proven one (unchanged), else a new record of
    what was typed (and of what else staff know of them: `known`, e.g. their surgeon)."""
    typed = found.typed
    if found.client is not None:
        return found.client
    client = Client(name=typed.name, phone=typed.phone, gender=typed.gender, birth_year=typed.birth_year,
                    channel=typed.channel, partner_id=typed.partner_id, **known)
    session.add(client)
    session.flush()
    return client


def mark_visit(visit: Visit, found: Identification) -> None:
    """Put what the desk must resolve on the visit."""
    visit.identity_flag = found.flag
    visit.identity_candidate = found.candidate
    visit.identity_typed = dict(found.differing) or None


def clear_flag(visit: Visit) -> None:
    visit.identity_flag = None
    visit.identity_candidate = None
    visit.identity_typed = None


def _merge_into(session: Session, source: Client, target: Client) -> list[str]:
    """Move everything of `source` (made from a kiosk's typing) onto `target`, then drop `source`."""
    filled = []
    for name in PROFILE_FIELDS:
        if getattr(target, name) is None and getattr(source, name) is not None:
            setattr(target, name, getattr(source, name))
            filled.append(name)
    session.execute(update(Visit).where(Visit.client_id == source.id).values(client_id=target.id))
    session.execute(update(Visit).where(Visit.identity_candidate_id == source.id)
                    .values(identity_candidate_id=target.id))
    session.execute(update(Appointment).where(Appointment.client_id == source.id).values(client_id=target.id))
    session.execute(update(AuditEntry).where(AuditEntry.client_id == source.id).values(client_id=target.id))
    session.execute(update(Complaint).where(Complaint.client_id == source.id).values(client_id=target.id))
    session.execute(update(PartnerRegistration).where(PartnerRegistration.client_id == source.id)
                    .values(client_id=target.id))
    if target.partner_id is None and source.partner_id is not None:
        target.partner_id = source.partner_id  # the store that registered her first stays hers
    session.flush()
    session.expire_all()
    session.delete(session.get(Client, source.id))
    return filled


def resolve(session: Session, visit: Visit, decision: str, *, actor) -> Visit:
    """The desk's decision on a visit's identity flag; audited (field names only, never values)."""
    from .audit import audit
    from .visits import _event

    flag = visit.identity_flag
    if flag is None:
        raise Conflict("identity_already_resolved")
    if decision not in DECISIONS[flag]:
        raise ValidationError("choice_invalid", field="decision")
    detail: dict = {"flag": flag, "decision": decision}
    if decision == "same_person":
        target = visit.identity_candidate
        if target is None or target.erased_at is not None or visit.client is None:
            raise Conflict("identity_candidate_gone")
        source_id, target_id, visit_id = visit.client.id, target.id, visit.id
        detail["filled"] = _merge_into(session, visit.client, target)
        visit = session.get(Visit, visit_id)
        # Not a first visit if the client on file had been here before.
        earlier = session.scalar(select(Visit.id).where(Visit.client_id == target_id, Visit.id != visit_id,
                                                        Visit.checked_in_at < visit.checked_in_at).limit(1))
        if earlier is not None:
            visit.first_visit = False
        detail["merged_client"] = source_id
    elif decision == "update_file":
        changed = []
        for name, value in (visit.identity_typed or {}).items():
            if name in PROFILE_FIELDS:
                setattr(visit.client, name, value)
                changed.append(name)
        detail["changed"] = changed
    clear_flag(visit)
    audit(session, actor, "identity", visit, **detail)
    _event(session, "visit.identity_resolved", visit)
    session.flush()
    return visit
