"""The audit trail in words: "Reassigned · Amy → Bea · reason: …", not `to_consultant: 4`.

The entries keep ids and codes (they outlive renamed staff and translated labels); this module
reads them for a person, in the reader's language.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .messages import duty_label, rule_label, status_label

ACTIONS = {
    "check_in": _l("Checked in"), "second_visit": _l("Second ticket given"), "companion": _l("Companion joined"),
    "called": _l("Called"), "recall": _l("Called again"), "with_consultant": _l("Consultation started"),
    "with_doctor": _l("Handed to a doctor"), "done": _l("Finished"), "left": _l("Left"),
    "no_show": _l("No-show"), "waiting": _l("Back in the queue"), "reassign": _l("Reassigned"),
    "note": _l("Note added"), "questionnaire": _l("Health questionnaire answered"),
    "view_answers": _l("Health answers opened"), "identity": _l("Identity decided"),
    "became_walk_in": _l("Browsing turned consultation"), "wait_told": _l("New wait told"),
    "book": _l("Appointment booked"), "rebook": _l("Appointment changed"),
    "cancel_appointment": _l("Appointment cancelled"), "client_care": _l("Care details changed"),
    "client_edited": _l("Client details changed"), "close_day": _l("Day closed"), "duty": _l("Duty changed"),
    "erase": _l("Client data erased"), "login": _l("Logged in"), "logout": _l("Logged out"),
    "purge": _l("Old personal data deleted"), "reorder": _l("Rotation reordered"), "roster": _l("Roster saved"),
    "settings": _l("Settings changed"), "kiosk_registered": _l("Lobby tablet added"),
    "kiosks_signed_out": _l("Every lobby tablet signed out"), "outcome": _l("Outcome recorded"),
    "complaint_opened": _l("Complaint recorded"), "complaint_calmed": _l("Complaint: calming note"),
    "complaint_escalated": _l("Complaint reported"), "complaint_closed": _l("Complaint closed"),
    "webhook_added": _l("Webhook endpoint added"), "webhook_turned_off": _l("Webhook endpoint turned off"),
    "webhook_turned_on": _l("Webhook endpoint turned on"), "webhook_deleted": _l("Webhook endpoint deleted"),
    "webhook_test": _l("Webhook test event sent"), "webhook_retried": _l("Webhook delivery retried"),
}

KEYS = {
    "reason": _l("reason"), "ticket": _l("ticket"), "previous_ticket": _l("previous ticket"),
    "previous": _l("was"), "rule": _l("rule"), "doctor": _l("doctor"), "staff": _l("staff"),
    "status": _l("now"), "day": _l("day"), "minutes": _l("minutes"), "fields": _l("fields"),
    "cutoff": _l("before"), "decision": _l("decision"), "sessions": _l("sessions"),
    "outcome": _l("outcome"), "next_contact": _l("next contact"),
    "complaint": _l("complaint"), "line": _l("line"), "head": _l("head"), "why": _l("why"),
    "host": _l("address"), "events": _l("events"), "event": _l("event"),
}
OUTCOMES = {"deal": _l("deal"), "no_deal": _l("no deal"), "thinking": _l("thinking it over")}
HIDDEN = {"appointment", "client", "generation", "upper", "from_consultant", "to_consultant"}


def action_label(action: str) -> str:
    return str(ACTIONS.get(action, action))


def details(entry, people: dict[int, str], usernames: dict[str, str]) -> list[str]:
    """The entry's detail as short phrases. `people`: staff id → name; `usernames`: username → name."""
    detail = dict(entry.detail or {})
    phrases = []
    if entry.action == "reassign":
        before, after = detail.get("from_consultant"), detail.get("to_consultant")
        name = (lambda i: people.get(i, "—") if i else str(_l("nobody")))
        phrases.append(f"{name(before)} → {name(after)}")
    for key, value in detail.items():
        if key in HIDDEN or value in (None, "", [], {}):
            continue
        if key == "previous" and value is True:
            phrases.append(str(_l("last time's answers")))
            continue
        if key in ("previous", "status"):
            value = duty_label(value) if entry.action == "duty" else status_label(value)
        elif key == "rule":
            value = rule_label(value)
        elif key == "outcome":
            value = OUTCOMES.get(value, value)
        elif key in ("doctor", "staff"):
            value = usernames.get(value, value)
        elif isinstance(value, list):
            value = "、".join(str(v) for v in value)
        phrases.append(f"{KEYS.get(key, key)}: {value}")
    return phrases
