"""The health questionnaire and registration forms: every check, every wrong field at once."""

import pytest
from werkzeug.datastructures import MultiDict

from lobby.forms import QuestionnaireForm, VisitorForm
from lobby.messages import greeting, message_for
from lobby.models import Client

BASE = {"pregnancy": "no", "smoking": "no", "consent_privacy": "1"}


@pytest.fixture
def zh(app):
    """A request in Chinese: forms read their messages in the visitor's language."""
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        yield


def questionnaire_form(**extra):
    form = MultiDict(BASE)
    for key, value in extra.items():
        if isinstance(value, list):
            form.setlist(key, value)
        else:
            form[key] = value
    return QuestionnaireForm(formdata=form)


def answers(**extra):
    form = questionnaire_form(**extra)
    assert form.validate(), form.errors
    return form.answers()


def test_nothing_to_report_gives_no_flags(zh):
    cleaned, flags, consents = answers()
    assert flags == [] and consents == {"privacy": True, "photos": False, "contact": False}
    assert cleaned["allergies"] == [] and cleaned["pregnancy"] == "no"


@pytest.mark.parametrize("extra,flag", [
    ({"allergies": ["latex"]}, "allergy"),
    ({"allergy_detail": "penicillin"}, "allergy"),
    ({"medication": ["anticoagulants"]}, "anticoagulant"),
    ({"pregnancy": "pregnant"}, "pregnancy"),
    ({"pregnancy": "breastfeeding"}, "pregnancy"),
    ({"chronic": ["keloid"]}, "keloid"),
    ({"chronic": ["bleeding_disorder"]}, "bleeding"),
    ({"medication": ["isotretinoin"]}, "isotretinoin"),
])
def test_answers_that_matter_for_treatment_become_flags(zh, extra, flag):
    assert flag in answers(**extra)[1]


@pytest.mark.parametrize("extra,field,code", [
    ({"consent_privacy": ""}, "consent_privacy", "consent_required"),
    ({"pregnancy": ""}, "pregnancy", "pregnancy_required"),
    ({"smoking": ""}, "smoking", "smoking_required"),
    ({"allergies": ["none", "latex"]}, "allergies", "none_and_other"),
    ({"medication": ["none"], "medication_detail": "阿司匹林"}, "medication", "none_and_other"),
    ({"surgery_none": "1", "surgery_history": "双眼皮 2019"}, "surgery_none", "none_and_other"),
    ({"smoking": "sometimes"}, "smoking", "choice_invalid"),
    ({"allergies": ["cats"]}, "allergies", "choice_invalid"),
    ({"surgery_history": "x" * 501}, "surgery_history", "text_too_long"),
])
def test_bad_answers_are_refused(zh, extra, field, code):
    form = questionnaire_form(**extra)
    assert not form.validate()
    assert form.field_errors()[field] == message_for(code, limit=500)


def test_every_wrong_answer_is_reported_at_once_each_in_its_own_words(zh):
    form = questionnaire_form(consent_privacy="", pregnancy="", smoking="", allergies=["cats"])
    assert not form.validate()
    errors = form.field_errors()
    assert set(errors) == {"consent_privacy", "pregnancy", "smoking", "allergies"}
    assert len(set(errors.values())) == 4  # no generic "please choose one" under every question


def test_none_is_an_answer_staff_tell_from_a_blank(zh):
    from lobby.domain import questionnaire as q

    said_none, flags, _ = answers(allergies=["none"], chronic=["none"], medication=["none"], surgery_none="1")
    assert flags == [] and said_none["allergies"] == ["none"] and said_none["surgery_none"] is True
    blank, _, _ = answers()
    for question in q.HISTORY:
        assert q.history_state(said_none, question) == "none"
        assert q.history_state(blank, question) == "unanswered"
    given, flags, _ = answers(allergies=["latex"], surgery_history="双眼皮 2019")
    assert q.history_state(given, "allergies") == q.history_state(given, "surgery") == "given"
    assert flags == ["allergy"]


@pytest.mark.parametrize("gender, birth_year, asked", [
    ("male", 1990, False), ("female", 1990, True), ("female", 1960, False), ("female", 2016, False),
    ("female", None, True), (None, None, True), ("other", 1995, True),
])
def test_pregnancy_is_asked_only_when_it_can_apply(gender, birth_year, asked):
    from lobby.domain import questionnaire as q

    assert q.asks_pregnancy(gender, birth_year, 2026) is asked


def test_a_question_not_asked_is_stored_as_not_asked_whatever_is_sent(zh):
    form = QuestionnaireForm(formdata=MultiDict({"smoking": "no", "consent_privacy": "1", "pregnancy": "pregnant"}),
                             asks_pregnancy=False)
    assert form.validate(), form.errors
    cleaned, flags, _ = form.answers()
    assert cleaned["pregnancy"] == "not_asked" and "pregnancy" not in flags


def test_registration_reports_every_wrong_field_at_once(zh, session, clinic):
    form = MultiDict({"name": "", "phone": "123", "gender": "robot", "birth_year": "1850", "service": "999",
                      "consultant": str(clinic.staff.surgeon.id), "partner": "x", "channel": "tv"})
    checked = VisitorForm(formdata=form)
    assert not checked.validate()
    codes = {"name": "name_required", "phone": "phone_invalid", "gender": "choice_invalid",
             "birth_year": "birth_year_invalid", "service": "choice_invalid", "consultant": "choice_invalid",
             "partner": "choice_invalid", "channel": "choice_invalid"}
    assert checked.field_errors() == {field: message_for(code) for field, code in codes.items()}


def test_registration_accepts_a_complete_form(zh, session, clinic):
    form = MultiDict({"name": " 王  小美 ", "phone": "138 0013 8000", "gender": "female", "birth_year": "1992",
                      "service": str(clinic.services.peel.id), "consultant": str(clinic.staff.amy.id),
                      "partner": str(clinic.partners.a_class.id), "channel": "friend"})
    checked = VisitorForm(formdata=form)
    assert checked.validate(), checked.errors
    details = checked.details()
    assert (details.name, details.phone, details.birth_year) == ("王 小美", "+8613800138000", 1992)
    assert (details.service_id, details.requested_id) == (clinic.services.peel.id, clinic.staff.amy.id)


@pytest.mark.parametrize("name,gender,expected", [
    ("张三华", "female", "张女士，欢迎您再次光临"),
    ("张三华", "male", "张先生，欢迎您再次光临"),
    ("张三华", None, "欢迎您再次光临"),
])
def test_returning_visitors_are_greeted_by_surname(app, name, gender, expected):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert greeting(Client(name=name, gender=gender)) == expected
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert greeting(Client(name="Anna Smith", gender="female")) == "Welcome back, Ms Smith"
