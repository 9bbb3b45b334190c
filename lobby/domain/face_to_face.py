"""The day's face-to-face table (一日当面咨询表, seed 004 咨询师常用重要表格) and its two summaries:

(a) every visitor of the day: time, ticket, name and phone (staff only), kind, first visit or not,
    channel, consultant, her place in that consultant's day, and how it ended;
(b) per consultant and day: the visitors received, and which of them were first visits, by their
    order ("1st, 3rd"), and the deals — what 轮牌 fairness is checked against;
(c) per channel: visitors, first visits, deals and the conversion rate (岗位职责 §6).

Received, seen, the order in the day and the conversion rate are defined in `conversions`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

from ..models import Visit
from . import conversions

VISITOR_COLUMNS = ["day", "time", "ticket", "visitor", "phone", "kind", "first_visit", "channel", "partner",
                   "treatment", "consultant", "order", "rule", "status", "outcome"]
CONSULTANT_COLUMNS = ["day", "consultant", "received", "first_visits", "first_visit_order", "deals"]
CHANNEL_COLUMNS = ["channel", *conversions.COLUMNS]


def orders(visits: Iterable[Visit]) -> dict[int, int]:
    """Visit id -> its place (1, 2, ...) among the visitors its consultant received that day."""
    days: dict[tuple[int, dt.date], list[Visit]] = defaultdict(list)
    for visit in visits:
        if visit.consultant_id is not None and conversions.is_seen(visit):
            days[(visit.consultant_id, visit.clinic_day)].append(visit)
    placed: dict[int, int] = {}
    for received in days.values():
        received.sort(key=lambda v: (conversions.received_at(v), v.checked_in_at, v.id))
        placed.update({visit.id: place for place, visit in enumerate(received, start=1)})
    return placed


def local_phone(e164: str | None) -> str:
    """+8613812345678 -> 13812345678 (as the desk types it); other countries keep their +."""
    if not e164:
        return ""
    return e164[3:] if e164.startswith("+86") else e164


def visitor_rows(visits: list[Visit], tz: ZoneInfo, name_of: Callable[[object], str]) -> list[list]:
    """(a): one row per visitor, in check-in order (the order they came through the door)."""
    place = orders(visits)
    rows = []
    for v in visits:
        client = v.client
        rows.append([
            v.clinic_day.isoformat(), v.checked_in_at.astimezone(tz).strftime("%H:%M"), v.ticket,
            (client.name or "") if client else "", local_phone(client.phone) if client else "", v.kind.value,
            bool(v.first_visit), conversions.channel_of(v), conversions.partner_of(v) or "",
            name_of(v.service) if v.service else "", v.consultant.display_name if v.consultant else "",
            place.get(v.id), v.triage_rule or "", v.status.value, v.outcome or "",
        ])
    return rows


def consultant_rows(visits: list[Visit]) -> list[list]:
    """(b): per consultant and day, the visitors received, the places of the first visits among them
    (a list: [1, 3] is "1st and 3rd") and the deals. Sorted by day, then consultant."""
    place = orders(visits)
    table: dict[tuple[dt.date, str], dict] = {}
    for v in visits:
        if v.id not in place:
            continue
        row = table.setdefault((v.clinic_day, v.consultant.display_name),
                               {"received": 0, "first": [], "deals": 0})
        row["received"] += 1
        if v.first_visit:
            row["first"].append(place[v.id])
        row["deals"] += v.outcome == "deal"
    return [[day.isoformat(), name, r["received"], len(r["first"]), sorted(r["first"]), r["deals"]]
            for (day, name), r in sorted(table.items())]


def channel_rows(visits: list[Visit]) -> list[list]:
    """(c): per channel (how the client heard of the clinic; "-" when not asked), conversions."""
    return [[channel, *t.row()] for channel, t in conversions.tally_by(visits, conversions.channel_of).items()]
