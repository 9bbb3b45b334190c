"""The one way a `next` parameter becomes a redirect: to a path on this site, or to the fallback."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit


def safe_next(target: object, fallback: str, *, under: str = "/") -> str:
    """`target` when it is a plain path on this site (under `under`), else `fallback`.

    Browsers forgive a lot: they drop tabs and newlines ("/\t/evil.example" becomes
    "//evil.example"), read "\\" as "/", and follow "//host" and "https:" anywhere. So
    a path with any of those, or with a scheme or host of its own, is refused whole.
    """
    if not isinstance(target, str) or not target or len(target) > 2000:
        return fallback
    if "\\" in target or any(unicodedata.category(ch)[0] in "CZ" for ch in target):
        return fallback  # control, format and whitespace characters, and backslashes
    if not target.startswith("/") or target.startswith("//"):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    base = under.rstrip("/")
    if base and not (target == base or target.startswith(base + "/") or target.startswith(base + "?")):
        return fallback
    return target
