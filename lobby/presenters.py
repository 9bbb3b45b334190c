"""Small display helpers shared by templates and the realtime payloads."""

from __future__ import annotations

from flask_babel import get_locale

from .domain.privacy import mask_name  # noqa: F401  (a template filter)


def locale_code() -> str:
    locale = get_locale()
    return str(locale) if locale else "zh_CN"


def localized(obj) -> str:
    """The zh or en name of a line or service, in the reader's language."""
    return obj.name(locale_code()) if obj is not None else ""


def readable_phone(e164: str | None) -> str:
    """A number as staff read it aloud: +8613912345678 → 139 1234 5678; others keep their code."""
    if not e164:
        return ""
    if e164.startswith("+86") and len(e164) == 14:
        digits = e164[3:]
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    return e164
