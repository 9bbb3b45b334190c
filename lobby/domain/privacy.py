"""What a public screen may show of a person: a masked name, never more."""


def _is_cjk(text: str | None) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in (text or ""))


def mask_name(name: str | None) -> str:
    """张三华 -> 张*华, 张三 -> 张*, Anna Smith -> A********h: enough to recognise oneself, not to identify."""
    text = "".join((name or "").split()) if _is_cjk(name) else (name or "").strip()
    if not text:
        return ""
    if len(text) <= 2:
        return text[0] + "*"
    return text[0] + "*" * (len(text) - 2 if not _is_cjk(text) else 1) + text[-1]
