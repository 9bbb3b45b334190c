"""What each domain error code says to a person, in their language."""

from flask_babel import lazy_gettext as _l

MESSAGES = {
    # input
    "bad_json": _l("The request body must be a JSON object."),
    "request_in_progress": _l("This was already received and is being done, or was done. Please look at the screen "
                              "again before trying once more."),
    "idempotency_key_reused": _l("This request key was already used for something else. Reload the page and try again."),
    "bad_idempotency_key": _l("The request key is not valid: 8 to 80 letters, digits, dots, colons, hyphens or "
                              "underscores."),
    "request_expired": _l("The system was too busy to finish this in time, and nothing was saved. Please try again."),
    "idempotency_key_missing": _l("Checked in. Send an Idempotency-Key header with each check-in: "
                                  "without one, a retry checks the visitor in twice."),
    "field_type": _l("The field %(name)s has the wrong type."),
    "name_required": _l("Please enter a name."),
    "name_too_long": _l("The name is too long (at most 80 characters)."),
    "phone_required": _l("Please enter a mobile number."),
    "phone_invalid": _l("This is not a valid mobile number. Use 11 digits, or + and the country code."),
    "starts_at_invalid": _l("The time must be an ISO 8601 date and time, such as 2026-05-01T14:30:00+08:00."),
    "starts_at_past": _l("The appointment time is in the past."),
    "service_required": _l("Please choose a treatment."),
    "unknown_service": _l("There is no treatment with the code %(code)s."),
    "unknown_consultant": _l("There is no consultant with the username %(username)s."),
    "unknown_line": _l("There is no queue line with the code %(code)s."),
    "external_id_invalid": _l("external_id must be a string of at most 120 characters."),
    "date_invalid": _l("The date must look like 2026-05-01."),
    "kind_invalid": _l("The kind must be walk-in, returning, post-op, complaint or browsing."),
    "status_invalid": _l("Unknown status %(status)s."),
    "reason_required": _l("Please give a reason."),
    "reason_too_long": _l("The reason is too long (at most 200 characters)."),
    "reassign_needs_target": _l("Choose a consultant or a line."),
    "appointment_code_invalid": _l("The booking code has 6 digits."),
    "companion_needs_visit": _l("A companion is linked to the visitor they came with."),
    "companion_of_companion": _l("A companion cannot be linked to another companion."),
    "form_invalid": _l("Please check the highlighted fields."),
    "choice_invalid": _l("Please choose one of the options."),
    "webhook_url_invalid": _l("Use an http:// or https:// address, such as https://crm.example.com/lobby."),
    "choice_required": _l("Please choose one."),
    "birth_year_required": _l("Please enter your year of birth."),
    "birth_year_invalid": _l("Please enter a year of birth such as 1990."),
    "text_too_long": _l("This is too long (at most %(limit)s characters)."),
    "consent_required": _l("Please agree to the privacy statement to continue."),
    "none_and_other": _l("Either “None”, or what applies: not both."),
    "outcome_invalid": _l("The outcome must be deal, no_deal or thinking, not %(outcome)s."),
    "outcome_at_finish": _l("An outcome is recorded when the visit is finished."),
    "next_contact_past": _l("The next contact cannot be before the visit."),
    "services_need_deal": _l("Treatments agreed go with a deal."),
    "services_too_many": _l("At most %(limit)s treatments agreed."),
    "partner_required": _l("Choose the partner store."),
    "expected_day_past": _l("The day she is expected cannot be in the past."),
    "registration_not_arrived": _l("This client has not checked in yet."),
    "outcome_not_finished": _l("The outcome is recorded once the visit is finished."),
    "kiosk_registered": _l("This browser is now a lobby tablet."),
    "kiosks_signed_out": _l("Every lobby tablet is signed out."),
    "appointment_at_the_clinic": _l("A booking checks in at the lobby tablet of the clinic, on arrival."),
    "pregnancy_required": _l("Please answer whether you are pregnant or breastfeeding."),
    "smoking_required": _l("Please tell us whether you smoke."),
    "session_expired": _l("This check-in was interrupted. Please start again."),
    "scan_unreadable": _l("The code could not be read. Please try again or type your booking code."),
    "ticket_not_found": _l("No visitor with this number is waiting today."),
    # not found
    "visit_not_found": _l("This visit does not exist."),
    "appointment_not_found": _l("No appointment matches this code and mobile number."),
    "consultant_not_found": _l("There is no consultant with this username."),
    "not_found": _l("Not found."),
    # conflicts
    "illegal_transition": _l("A visit cannot go from %(current)s to %(target)s."),
    "nobody_waiting": _l("Nobody is waiting for %(consultant)s."),
    "nothing_to_tell": _l("This visitor has already been told their new wait."),
    "what_if_times": _l("Give a start and an end time (HH:MM), the end after the start."),
    "what_if_empty": _l("Nobody was seen that day: there is nothing to replay."),
    "no_lines": _l("The clinic has no open queue line."),
    "appointment_cancelled": _l("This appointment was cancelled."),
    "appointment_already_checked_in": _l("This appointment is already checked in."),
    "already_checked_in": _l("This visitor already has number %(ticket)s today."),
    "appointment_other_day": _l("This appointment is for %(day)s, not today."),
    "appointment_too_early": _l("Your appointment is at %(time)s; please come back a little later."),
    "appointment_not_editable": _l("This appointment can no longer be changed (it is %(status)s)."),
    "checkin_conflict": _l("This check-in was already made."),
    "visit_not_active": _l("This visit is no longer in the queue."),
    "reassign_not_queued": _l("Only a visitor who is waiting, called or with a consultant can be reassigned."),
    "reassign_in_room_needs_consultant": _l("During the consultation, choose the consultant who takes over."),
    "doctor_required": _l("Choose the doctor the visitor is handed to."),
    "unknown_doctor": _l("There is no doctor with the username %(username)s."),
    "unknown_partner": _l("There is no partner store with the code %(code)s."),
    "surgery_date_future": _l("The surgery date cannot be in the future."),
    "care_field_required": _l("Send at least one of consultant, surgeon, surgery_date, partner."),
    "duty_invalid": _l("Duty must be available, away or off."),
    "until_invalid": _l("until must be an ISO 8601 date and time with its offset, such as 2026-05-01T14:00:00+08:00."),
    "until_past": _l("until must be later than now."),
    "roster_invalid": _l("The roster must be a list of shifts."),
    "roster_entry_invalid": _l("Each shift must be an object with username, start, end and breaks."),
    "roster_duplicate": _l("%(username)s appears twice in the roster."),
    "shift_order": _l("A shift must end after it starts."),
    "breaks_invalid": _l("Breaks are pairs of times, such as 12:00-13:00."),
    "break_outside_shift": _l("A break must lie within the shift and end after it starts."),
    "breaks_overlap": _l("Two breaks overlap."),
    "bad_json_list": _l("The request body must be a JSON list."),
    "not_browsing": _l("Only a browsing visitor who is still here can become a walk-in."),
    "care_saved": _l("Saved: who looks after this client."),
    "reassign_same": _l("The visitor already has this consultant and line."),
    "appointment_saved": _l("The appointment is saved."),
    "appointment_cancelled_ok": _l("The appointment is cancelled."),
    "csv_required": _l("Choose a CSV file to import."),
    "csv_too_large": _l("The file is too large (at most 2 MB)."),
    "csv_encoding": _l("The file must be a CSV saved as UTF-8 or GBK."),
    "csv_header_missing": _l("The first row must name the columns: name, phone, starts_at, service."),
    "client_in_the_building": _l("This client is still in the clinic; erase their data after the visit."),
    "client_erased": _l("The client's personal data is erased."),
    "value_required": _l("Please fill this in."),
    "value_too_long": _l("This is too long."),
    "number_out_of_range": _l("Please enter a whole number in the allowed range."),
    "time_invalid": _l("Please enter a time such as 09:00."),
    "timezone_invalid": _l("Unknown time zone; use a name such as Asia/Shanghai."),
    "prefix_invalid": _l("One to three letters, such as B."),
    "colour_invalid": _l("A colour such as #8a6f5a."),
    "already_used": _l("Already in use."),
    "username_invalid": _l("Letters, digits, dot, dash and underscore only."),
    "password_too_short": _l("At least 8 characters."),
    "settings_saved": _l("Saved."),
    "visit_changed": _l("A colleague has just updated this visitor (now %(status)s). Please look again."),
    "note_required": _l("Please write the note."),
    # auth
    "unauthorized": _l("A valid API key is required (Authorization: Bearer <key>)."),
    "method_not_allowed": _l("This method is not allowed here."),
    "token_invalid": _l("This code is not valid."),
    "token_expired": _l("This code has expired."),
    # the public tablet and uploads
    "kiosk_throttled": _l("Too many attempts on this tablet. Please ask the front desk, we are glad to help."),
    "upload_too_large": _l("What was sent is too large."),
    "image_too_large": _l("The picture is too large."),
    # identity checks at the desk
    "identity_already_resolved": _l("A colleague has already resolved this."),
    "identity_candidate_gone": _l("The client on file no longer exists; keep both records."),
    "client_saved": _l("The client's details are saved."),
    # complaints (投诉)
    "complaint_what_required": _l("Please write down what happened."),
    "complaint_note_required": _l("Please write how the visitor was calmed."),
    "complaint_resolution_required": _l("Please write how the complaint was resolved before closing it."),
    "complaint_closed": _l("This complaint is already closed."),
    "complaint_already_escalated": _l("This complaint has already been reported."),
    "complaint_exists": _l("This visit already has a complaint record."),
    "complaint_head_invalid": _l("A department head must be an active consultant or doctor (someone on the roster)."),
    "complaint_caller_incomplete": _l("Give both the name and the mobile number of the person complaining, or neither."),
    "complaint_phone_other_name": _l("This mobile number is on file under another name. Check the name, or leave both empty."),
}


_STATUS_PARAMS = ("current", "target", "status")


def message_for(code: str, /, **params) -> str:
    """The message for an error code, with statuses named in the reader's language."""
    template = MESSAGES.get(code)
    if template is None:
        return code
    params = {k: status_label(v) if k in _STATUS_PARAMS else v for k, v in params.items()}
    try:
        return str(template) % params if params else str(template)
    except (KeyError, TypeError, ValueError):
        return str(template)


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


STATUS_LABELS = {
    "waiting": _l("waiting"),
    "called": _l("called"),
    "recalled": _l("recalled"),
    "with_consultant": _l("with consultant"),
    "with_doctor": _l("with doctor"),
    "done": _l("done"),
    "no_show": _l("no-show"),
    "left": _l("left"),
    "booked": _l("booked"),
    "checked_in": _l("checked in"),
    "cancelled": _l("cancelled"),
    "late": _l("late"),
    "kept": _l("kept"),
}


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


KIND_LABELS = {
    "appointment": _l("appointment"),
    "walk-in": _l("walk-in"),
    "returning": _l("returning"),
    "post-op": _l("post-op"),
    "companion": _l("companion"),
    "complaint": _l("complaint"),
    "browsing": _l("browsing"),
}


GENDER_LABELS = {"female": _l("Female"), "male": _l("Male"), "other": _l("Other / prefer not to say")}
CHANNEL_LABELS = {
    "online": _l("Online"), "friend": _l("A friend"), "old-client": _l("A client of yours"),
    "partner": _l("A partner store"), "ads": _l("An advertisement"), "walk-by": _l("Walking by"),
    "other": _l("Other"),
}
ANSWER_LABELS = {
    "drugs": _l("Medicines"), "anaesthetics": _l("Anaesthetics"), "fillers": _l("Fillers"), "latex": _l("Latex"),
    "hypertension": _l("High blood pressure"), "diabetes": _l("Diabetes"), "heart_disease": _l("Heart disease"),
    "bleeding_disorder": _l("Bleeding disorder"), "keloid": _l("Keloid / raised scars"),
    "autoimmune": _l("Autoimmune disease"), "infectious": _l("Infectious disease"),
    "anticoagulants": _l("Blood thinners / aspirin"), "isotretinoin": _l("Isotretinoin (acne)"),
    "hormones": _l("Hormones"),
    "pregnancy:no": _l("No"), "pregnancy:pregnant": _l("Pregnant"), "pregnancy:breastfeeding": _l("Breastfeeding"),
    "pregnancy:unsure": _l("Not sure"),
    "smoking:no": _l("No"), "smoking:yes": _l("Yes"), "smoking:quit": _l("I quit"),
    "pregnancy:not_asked": _l("Not asked (does not apply)"), "none": _l("None"),
    "other": _l("Other"),
    "-": _l("Not asked"),
}


def gender_label(value: str) -> str:
    return str(GENDER_LABELS.get(value, value))


def channel_label(value: str) -> str:
    return str(CHANNEL_LABELS.get(value, value))


def answer_label(value: str) -> str:
    return str(ANSWER_LABELS.get(value, value))


def greeting(client) -> str:
    """张女士，欢迎您再次光临 — the surname only, as the front desk would say it."""
    from .domain.privacy import _is_cjk

    name = (client.name or "").strip()
    surname = (name[0] if _is_cjk(name) else name.split()[-1]) if name else ""
    if surname and client.gender == "female":
        return str(_l("Welcome back, Ms %(surname)s", surname=surname))
    if surname and client.gender == "male":
        return str(_l("Welcome back, Mr %(surname)s", surname=surname))
    return str(_l("Welcome back"))


FLAG_LABELS = {
    "allergy": _l("Allergy"), "anticoagulant": _l("Blood thinners"), "pregnancy": _l("Pregnant / nursing"),
    "keloid": _l("Keloid"), "bleeding": _l("Bleeding disorder"), "isotretinoin": _l("Isotretinoin"),
    "infectious": _l("Infectious"),
}


def flag_label(value: str) -> str:
    return str(FLAG_LABELS.get(value, value))


# What a returning visitor told us about last time, named on the tablet without the answers.
TOPIC_LABELS = {
    "allergies": _l("allergies"), "surgery": _l("past surgery"), "procedures": _l("past cosmetic treatments"),
    "conditions": _l("health conditions"), "medication": _l("medication"),
}


def topic_list(topics: list[str]) -> str:
    from flask_babel import get_locale

    separator = ", " if str(get_locale() or "").startswith("en") else "、"
    return separator.join(str(TOPIC_LABELS.get(t, t)) for t in topics)


# What the desk must check about who a visitor is (domain/identity.py).
IDENTITY_LABELS = {
    "phone_mismatch": _l("Same phone, different name"),
    "details_differ": _l("Details differ from the file"),
    "not_on_file": _l("Returning, but not on file"),
}
DECISION_LABELS = {
    "same_person": _l("Same person: merge into the client on file"),
    "different_people": _l("Different people: keep both"),
    "update_file": _l("Update the file with what was typed"),
    "keep_file": _l("Keep the file as it is"),
    "dismiss": _l("Checked"),
}
FIELD_LABELS = {"gender": _l("Gender"), "birth_year": _l("Year of birth"), "channel": _l("Channel"),
                "partner_id": _l("Partner store"), "name": _l("Name"), "phone": _l("Mobile number")}


def identity_label(value: str) -> str:
    return str(IDENTITY_LABELS.get(value, value))


def decision_label(value: str) -> str:
    return str(DECISION_LABELS.get(value, value))


def field_label(value: str) -> str:
    return str(FIELD_LABELS.get(value, value))


DUTY_LABELS = {"available": _l("Available"), "busy": _l("Busy"), "away": _l("Away"), "off": _l("Off duty"),
               "roster": _l("As rostered")}
# Why someone's duty is what it is (duty.Duty.reason).
DUTY_REASONS = {"desk": _l("set by the desk"), "roster": _l("on shift"), "break": _l("on a break"),
                "before_shift": _l("shift not started"), "shift_over": _l("shift over"),
                "not_rostered": _l("not on today's roster"), "standing": _l("no roster today"),
                "back": _l("back at the time the desk gave"),
                "no_word": _l("not rostered")}
ROLE_LABELS = {"admin": _l("Administrator"), "frontdesk": _l("Front desk"), "consultant": _l("Consultant"),
               "doctor": _l("Doctor")}
RULE_LABELS = {"designated": _l("booked"), "requested": _l("asked for"), "own": _l("own consultant"),
               "partner": _l("partner store"), "surgeon": _l("surgeon"), "rotation": _l("rotation"),
               "call_next": _l("called next"), "reassigned": _l("reassigned"), "post_op_line": _l("any doctor"),
               "desk": _l("front desk"), "unassigned": _l("unassigned")}


# How a consultation ended (成交 / 未成交 / 考虑).
OUTCOME_LABELS = {"deal": _l("Deal"), "no_deal": _l("No deal"), "thinking": _l("Thinking it over")}
PURPOSE_LABELS = {"thanks": _l("Thank-you"), "next_contact": _l("Next contact"), "no_show": _l("Missed booking")}


def outcome_label(value: str | None) -> str:
    return str(OUTCOME_LABELS.get(value, value or "—"))


def purpose_label(value: str) -> str:
    return str(PURPOSE_LABELS.get(value, value))


def duty_reason(value: str) -> str:
    return str(DUTY_REASONS.get(value, value))


def role_label(value: str) -> str:
    return str(ROLE_LABELS.get(value, value))


def rule_label(value: str | None) -> str:
    return str(RULE_LABELS.get(value or "", value or ""))
SPECIALTY_LABELS = {"skin": _l("Skin"), "injectables": _l("Injectables"), "eyes": _l("Eyes"), "nose": _l("Nose"),
                    "body": _l("Body")}


def duty_label(value: str) -> str:
    return str(DUTY_LABELS.get(value, value))


def specialty_label(value: str) -> str:
    return str(SPECIALTY_LABELS.get(value, value))
