"""Conversions (成交率, seed 004 咨询师岗位职责 §6): how many visitors a consultant saw and how many of
them became a deal, counted per consultant, channel, partner store, line or period.

The definitions, in one place (the reports and the charts say the same under each figure):

- a visitor is **seen** when a consultation started (`consultation_started_at`): the consultant sat
  with her. Post-op visits (换药, 拆线, 复查) and complaints are not sales and are never counted in
  conversions; companions are not visitors at all;
- the **conversion rate** is deals ÷ visitors seen, in percent, one decimal. A visitor seen whose
  outcome was not recorded counts as seen and not as a deal (column `no_outcome` shows how many);
- a visitor is **received** by her consultant at the first call, or at the start of the consultation
  when she was never called; the consultant's **order in the day** (1st, 2nd...) ranks the visitors
  she saw that day by that moment (ties: check-in, then id).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..models import Client, Visit, VisitKind

# Not sales: never in a conversion figure (they still count as visitors of the day).
NOT_SALES = (VisitKind.POST_OP, VisitKind.COMPLAINT)
# The columns of every conversion table, after its first (what is counted: a consultant, a channel...).
COLUMNS = ["visitors", "first_visits", "seen", "deals", "no_deal", "thinking", "no_outcome", "conversion_pct"]


def load_visits(session: Session, start: dt.date, end: dt.date) -> list[Visit]:
    """The visitors of clinic days start..end (inclusive), companions left out, in check-in order."""
    return list(session.scalars(
        select(Visit).where(Visit.clinic_day >= start, Visit.clinic_day <= end, Visit.kind != VisitKind.COMPANION)
        .options(selectinload(Visit.client).selectinload(Client.partner), selectinload(Visit.line),
                 selectinload(Visit.consultant), selectinload(Visit.service), selectinload(Visit.appointment))
        .order_by(Visit.checked_in_at, Visit.id)
    ))


def is_seen(visit: Visit) -> bool:
    """A consultation started with this visitor."""
    return visit.consultation_started_at is not None


def counts_for_conversion(visit: Visit) -> bool:
    """Seen, and a possible sale (not post-op, not a complaint)."""
    return is_seen(visit) and visit.kind not in NOT_SALES


def received_at(visit: Visit) -> dt.datetime | None:
    """When her consultant received her: the first call, else the start of the consultation; None if
    she was never seen."""
    if not is_seen(visit):
        return None
    return visit.called_at or visit.consultation_started_at


def rate(deals: int, seen: int) -> float | None:
    """Deals ÷ seen in percent, one decimal; None when nobody was seen."""
    return round(100 * deals / seen, 1) if seen else None


@dataclass
class Tally:
    """What a conversion table says about one group of visitors."""

    visitors: int = 0
    first_visits: int = 0
    seen: int = 0
    deals: int = 0
    no_deal: int = 0
    thinking: int = 0
    no_outcome: int = 0

    def add(self, visit: Visit) -> None:
        self.visitors += 1
        self.first_visits += bool(visit.first_visit)
        if not counts_for_conversion(visit):
            return
        self.seen += 1
        if visit.outcome == "deal":
            self.deals += 1
        elif visit.outcome == "no_deal":
            self.no_deal += 1
        elif visit.outcome == "thinking":
            self.thinking += 1
        else:
            self.no_outcome += 1

    @property
    def conversion_pct(self) -> float | None:
        return rate(self.deals, self.seen)

    def row(self) -> list:
        return [self.visitors, self.first_visits, self.seen, self.deals, self.no_deal, self.thinking,
                self.no_outcome, self.conversion_pct]


def tally(visits: Iterable[Visit]) -> Tally:
    total = Tally()
    for visit in visits:
        total.add(visit)
    return total


def tally_by(visits: Iterable[Visit], key: Callable[[Visit], str | None]) -> dict[str, Tally]:
    """One tally per key (visits whose key is None are left out), sorted by key."""
    groups: dict[str, Tally] = {}
    for visit in visits:
        name = key(visit)
        if name is not None:
            groups.setdefault(name, Tally()).add(visit)
    return dict(sorted(groups.items()))


def consultant_of(visit: Visit) -> str | None:
    """Who the conversion is credited to: the visit's (last) consultant, for possible sales only."""
    if visit.consultant is None or visit.kind in NOT_SALES:
        return None
    return visit.consultant.display_name


def channel_of(visit: Visit) -> str:
    return (visit.client.channel if visit.client else None) or "-"


def partner_of(visit: Visit) -> str | None:
    return visit.client.partner.name if visit.client and visit.client.partner else None
