"""Small display helpers shared by templates and the realtime payloads."""

from __future__ import annotations

from flask_babel import get_locale


def mask_name(name: str | None) -> str:
    """张三华 -> 张*华, 张三 -> 张*, Anna Smith -> A*******h: enough to recognise oneself, not to identify."""
    text = "".join((name or "").split()) if _is_cjk(name) else (name or "").strip()
    if not text:
        return ""
    if len(text) <= 2:
        return text[0] + "*"
    return text[0] + "*" * (len(text) - 2 if not _is_cjk(text) else 1) + text[-1]


def _is_cjk(text: str | None) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in (text or ""))


def locale_code() -> str:
    locale = get_locale()
    return str(locale) if locale else "zh_CN"


def localized(obj) -> str:
    """The zh or en name of a line or service, in the reader's language."""
    return obj.name(locale_code()) if obj is not None else ""
