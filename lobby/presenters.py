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
