"""Text and numbers typed by people, made safe at the domain's boundary.

Every name, note, reason and free answer goes through `clean_text`: control
characters (BEL, ESC, NUL...), invisible format characters (zero-width spaces,
bidi overrides and isolates such as U+202E) and private-use code points are
dropped, and runs of whitespace become one space. Such characters cannot be
seen, yet they can reorder a row on the desk or hide what a name really says.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from .errors import ValidationError

# Cc control, Cf format (zero-width, bidi), Co private use, Cs surrogates, Cn unassigned.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn"})
_WHITESPACE_CONTROLS = frozenset("\t\n\r\v\f\x1c\x1d\x1e\x1f\x85")
_ASCII_NUMBER = re.compile(r"[0-9]{1,9}")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Days a clinic's records can name; outside them, date arithmetic would overflow.
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)
# The largest id or number a form may name: inside every database's INTEGER.
MAX_ID = 2**31 - 1


def visible(value: object) -> str:
    """The text without invisible or control characters, whitespace collapsed to single spaces."""
    text = unicodedata.normalize("NFC", str(value or ""))
    kept = []
    for ch in text:
        if ch in _WHITESPACE_CONTROLS:
            kept.append(" ")
        elif unicodedata.category(ch) not in _DROPPED_CATEGORIES:
            kept.append(ch)
    return " ".join("".join(kept).split())


def clean_text(value: object, *, field: str, limit: int, required: bool = False,
               required_code: str = "value_required", too_long_code: str = "text_too_long") -> str | None:
    """Visible text of at most `limit` characters; None when empty and not required."""
    text = visible(value)
    if not text:
        if required:
            raise ValidationError(required_code, field=field)
        return None
    if len(text) > limit:
        raise ValidationError(too_long_code, field=field, limit=limit)
    return text


def clean_name(name: object, field: str = "name") -> str:
    """A person's name: required, at most 80 visible characters."""
    return clean_text(name, field=field, limit=80, required=True, required_code="name_required",
                      too_long_code="name_too_long")


def parse_id(raw: object) -> int | None:
    """A positive integer id from a form or URL, or None: ASCII digits only ('²' is not 2), and small
    enough for the database (30 digits would overflow its INTEGER)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if 0 < raw <= MAX_ID else None
    text = str(raw or "").strip()
    if not _ASCII_NUMBER.fullmatch(text):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def parse_day(raw: object) -> dt.date | None:
    """A day written 2026-05-01 (ASCII digits, a real date, between 1900 and 2999), or None."""
    text = str(raw or "").strip()
    if not _ISO_DAY.fullmatch(text):
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def same_name(a: str | None, b: str | None) -> bool:
    """Whether two typed names are the same name: case, spaces and width do not count."""
    def key(name):
        return "".join(unicodedata.normalize("NFKC", visible(name)).casefold().split())

    return bool(a and b) and key(a) == key(b)
