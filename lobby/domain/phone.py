"""Phone numbers: Chinese mobiles typed as 11 digits, and international forms."""

import phonenumbers
from phonenumbers import PhoneNumberType

from .errors import ValidationError

_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalise_phone(raw: str | None, field: str = "phone") -> str:
    """Return the number in E.164 (+8613812345678) or raise ValidationError."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError("phone_required", field=field)
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise ValidationError("phone_invalid", field=field) from None
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise ValidationError("phone_invalid", field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def masked_phone(e164: str | None) -> str:
    """+8613812345678 -> 138****5678, for screens where staff confirm identity."""
    if not e164:
        return ""
    digits = e164[3:] if e164.startswith("+86") else e164.lstrip("+")
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
