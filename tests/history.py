"""Two weeks of a clinic, inserted as finished visits: a pattern whose figures are counted by hand
(build_history), and a varied, realistic fortnight for screenshots (build_realistic_history).

Each visit is consistent: its clinic day, check-in, call, consultation, finish and status agree, its
ticket is its line's next number that day (the day's ticket counters are set to match), a first
visit is a new client, a returning client has her consultant on file, and a partner store's client
came by the "partner" channel.

THE PATTERN (build_history), the same every day i = 0..13 of 2026-02-25 (Wed) .. 2026-03-10 (Tue),
times local (Asia/Shanghai); "seen" = the consultation started:

  who  consultant kind         first channel     store     arrive call  start done   outcome
  A    amy        walk-in      yes   online      -         10:00  10:18 10:20 10:45  deal on even days, else thinking
  C    amy        returning    no    old-client  -         10:05  10:07 10:08 10:18  deal
  B    bea        walk-in      yes   friend      -         10:10  10:14 10:15 10:30  no_deal
  D    bea        walk-in      yes   ads         -         10:20  10:48 10:50 11:10  deal
  G    bea        returning    no    old-client  -         10:30  10:33 10:35 10:45  (none recorded)
  E    cai        appointment  yes   partner     ordinary  10:40  10:45 10:46 11:15  thinking
  F    dan        walk-in      yes   partner     a_class   10:50  10:55 10:56 11:30  deal on even days, else no_deal
  H    amy        walk-in      yes   online      -         11:00  11:05 no-show 11:15
  P    dr_sun     post-op      no    old-client  -         11:20  11:25 11:26 11:40  (post-op: not a sale)
  W    cai        walk-in      yes   online      -         11:30  11:35 11:36 12:00  deal; weekends (i = 3, 4, 10, 11)

So on a weekday 9 visitors, 7 seen for conversion (P is post-op, H never seen); 4 deals on an even
day, 2 on an odd one. Weekends add W: 10 visitors, 8 seen, one more deal.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from lobby.models import (
    Client,
    PartnerStore,
    Service,
    Staff,
    TicketCounter,
    Visit,
    VisitKind,
    VisitStatus,
)

S = VisitStatus
TZ = ZoneInfo("Asia/Shanghai")
END = dt.date(2026, 3, 10)  # the frozen clock's day (tests/factories.MORNING)
DAYS = 14
WEEKENDS = (3, 4, 10, 11)  # 02-28, 03-01, 03-07, 03-08

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["静", "婷", "雪", "丽", "敏", "颖", "晓燕", "欣怡", "梦瑶", "佳琪", "雨桐", "诗涵", "思琪", "美玲",
         "可馨", "若曦", "紫萱", "子涵", "一诺", "嘉怡"]


def local(day: dt.date, hhmm: str | None) -> dt.datetime | None:
    if hhmm is None:
        return None
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=TZ).astimezone(dt.timezone.utc)


@dataclass
class Planned:
    """One visitor: who, how she came, when each step happened, how it ended."""

    consultant: str | None
    service: str
    kind: VisitKind
    first: bool
    channel: str
    partner: str | None
    rule: str
    arrive: str
    called: str | None = None
    started: str | None = None
    done: str | None = None
    no_show: str | None = None
    outcome: str | None = None


def clinic_of(session) -> SimpleNamespace:
    """The test clinic of tests/factories.build_clinic as it is in the database (for a test that built
    it elsewhere, e.g. through the `api` fixture)."""
    services = {s.code: s for s in session.query(Service)}
    people = {s.username: s for s in session.query(Staff)}
    stores = {p.name: p for p in session.query(PartnerStore)}
    return SimpleNamespace(
        services=SimpleNamespace(peel=services["peel"], eyelid=services["eyelid"], nose=services["nose"],
                                 sutures=services["sutures"]),
        staff=SimpleNamespace(**{name: people[name] for name in ("amy", "bea", "cai", "dan")},
                              surgeon=people["dr_sun"]),
        partners=SimpleNamespace(a_class=stores["A-class store"], ordinary=stores["Ordinary store"]))


class Visits:
    """Inserts visits into a test clinic, numbering each line's tickets day by day."""

    def __init__(self, session, clinic):
        self.session, self.clinic = session, clinic
        self.numbers: dict[tuple[int, dt.date], int] = {}
        self.people = 0

    def add(self, day: dt.date, p: Planned, name: str | None = None, phone: str | None = None) -> Visit:
        session, clinic = self.session, self.clinic
        service = getattr(clinic.services, p.service)
        line = service.line
        consultant = getattr(clinic.staff, p.consultant) if p.consultant else None
        partner = getattr(clinic.partners, p.partner) if p.partner else None
        self.people += 1
        client = Client(name=name or SURNAMES[self.people % 20] + GIVEN[(self.people * 7) % 20],
                        phone=phone or f"+86139{self.people:08d}", channel=p.channel, partner=partner,
                        consultant=None if p.first else consultant, created_at=local(day, p.arrive))
        session.add(client)
        number = self.numbers.get((line.id, day), 0) + 1
        self.numbers[(line.id, day)] = number
        status = S.NO_SHOW if p.no_show else S.DONE if p.done else S.WITH_CONSULTANT if p.started else \
            S.CALLED if p.called else S.WAITING
        arrived = local(day, p.arrive)
        visit = Visit(clinic_day=day, line=line, number=number, ticket=f"{line.prefix}{number:03d}", kind=p.kind,
                      status=status, client=client, service=service, consultant=consultant, triage_rule=p.rule,
                      first_visit=p.first, checked_in_at=arrived, called_at=local(day, p.called),
                      consultation_started_at=local(day, p.started), done_at=local(day, p.done),
                      no_show_at=local(day, p.no_show), outcome=p.outcome,
                      updated_at=local(day, p.done or p.no_show or p.started or p.called or p.arrive))
        session.add(visit)
        return visit

    def finish(self) -> None:
        for (line_id, day), last in self.numbers.items():
            counter = self.session.get(TicketCounter, (line_id, day))
            if counter is None:
                self.session.add(TicketCounter(line_id=line_id, clinic_day=day, last_number=last))
            else:
                counter.last_number = max(counter.last_number, last)
        self.session.commit()


def pattern(i: int) -> dict[str, Planned]:
    """The visitors of day i of the pattern (see the module's docstring), by letter."""
    even = i % 2 == 0
    W, R, A = VisitKind.WALK_IN, VisitKind.RETURNING, VisitKind.APPOINTMENT
    day = {
        "A": Planned("amy", "peel", W, True, "online", None, "rotation", "10:00", "10:18", "10:20", "10:45",
                     outcome="deal" if even else "thinking"),
        "C": Planned("amy", "peel", R, False, "old-client", None, "own", "10:05", "10:07", "10:08", "10:18",
                     outcome="deal"),
        "B": Planned("bea", "peel", W, True, "friend", None, "rotation", "10:10", "10:14", "10:15", "10:30",
                     outcome="no_deal"),
        "D": Planned("bea", "peel", W, True, "ads", None, "rotation", "10:20", "10:48", "10:50", "11:10",
                     outcome="deal"),
        "G": Planned("bea", "peel", R, False, "old-client", None, "own", "10:30", "10:33", "10:35", "10:45"),
        "E": Planned("cai", "eyelid", A, True, "partner", "ordinary", "rotation", "10:40", "10:45", "10:46",
                     "11:15", outcome="thinking"),
        "F": Planned("dan", "nose", W, True, "partner", "a_class", "partner", "10:50", "10:55", "10:56", "11:30",
                     outcome="deal" if even else "no_deal"),
        "H": Planned("amy", "peel", W, True, "online", None, "rotation", "11:00", "11:05", no_show="11:15"),
        "P": Planned("surgeon", "sutures", VisitKind.POST_OP, False, "old-client", None, "surgeon", "11:20",
                     "11:25", "11:26", "11:40"),
    }
    if i in WEEKENDS:
        day["W"] = Planned("cai", "eyelid", W, True, "online", None, "rotation", "11:30", "11:35", "11:36",
                           "12:00", outcome="deal")
    return day


def days(end: dt.date = END, count: int = DAYS) -> list[dt.date]:
    return [end - dt.timedelta(days=count - 1 - i) for i in range(count)]


def build_history(session, clinic, end: dt.date = END) -> dict[dt.date, dict[str, Visit]]:
    """The hand-counted fortnight ending on `end`: each day's visits by letter, in check-in order."""
    visits, built = Visits(session, clinic), {}
    for i, day in enumerate(days(end)):
        planned = sorted(pattern(i).items(), key=lambda item: item[1].arrive)
        built[day] = {letter: visits.add(day, p) for letter, p in planned}
    visits.finish()
    return built


def build_realistic_history(session, clinic, end: dt.date, seed: int = 2026) -> None:
    """A fortnight that looks like a clinic's: busier weekends, each consultant's own way with a sale,
    waits that grow at busy hours, a few no-shows and visitors who left. Deterministic for a seed."""
    rng = random.Random(seed)
    visits = Visits(session, clinic)
    strength = {"amy": .55, "bea": .42, "cai": .35, "dan": .5}
    skin, surgery = ("amy", "bea"), ("bea", "cai", "dan")
    channels = ["online"] * 4 + ["friend"] * 2 + ["ads"] * 2 + ["partner"] * 3 + ["walk-by"]
    for day in days(end):
        weekend = day.weekday() >= 5
        count = rng.randint(12, 17) if weekend else rng.randint(7, 12)
        free = {name: local(day, "09:30") for name in strength}
        moment, spacing = local(day, "09:20"), 600 // count  # arrivals spread over 09:30-19:30
        for _ in range(count):
            moment += dt.timedelta(minutes=rng.randint(spacing // 2, spacing * 3 // 2))
            kind = rng.choices([VisitKind.WALK_IN, VisitKind.APPOINTMENT, VisitKind.RETURNING, VisitKind.POST_OP],
                               [4, 3, 3, 1])[0]
            if kind == VisitKind.POST_OP:
                _finish(visits, rng, day, moment + dt.timedelta(minutes=5),
                        Planned("surgeon", "sutures", kind, False, "old-client", None, "surgeon", _hhmm(moment)), None)
                continue
            surgical = rng.random() < .45
            service = rng.choice(["eyelid", "nose"]) if surgical else "peel"
            consultant = rng.choice(surgery if surgical else skin)
            first = kind != VisitKind.RETURNING
            channel = rng.choice(channels) if first else "old-client"
            partner = rng.choice(["a_class", "ordinary"]) if channel == "partner" else None
            rule = "own" if not first else "partner" if partner == "a_class" else "rotation"
            started = max(moment + dt.timedelta(minutes=rng.randint(4, 12)), free[consultant])
            planned = Planned(consultant, service, kind, first, channel, partner, rule, _hhmm(moment))
            free[consultant] = _finish(visits, rng, day, started, planned, strength[consultant])
    visits.finish()


def _phone(rng) -> str:
    return f"+861{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}"


def _hhmm(moment: dt.datetime) -> str:
    return moment.astimezone(TZ).strftime("%H:%M")


def _finish(visits, rng, day, started, p: Planned, strength) -> dt.datetime:
    """Call, see and finish `p` from `started` (or a no-show, or gone before her turn); returns when
    the consultant is free again."""
    roll = rng.random()
    if strength is not None and roll < .05:
        p.called, p.no_show = _hhmm(started), _hhmm(started + dt.timedelta(minutes=10))
        visits.add(day, p, phone=_phone(rng))
        return started
    if strength is not None and roll < .09:
        visit = visits.add(day, p, phone=_phone(rng))
        visit.status, visit.left_at = S.LEFT, started
        return started
    length = dt.timedelta(minutes=rng.randint(12, 40))
    p.called = _hhmm(started - dt.timedelta(minutes=1))
    p.started, p.done = _hhmm(started), _hhmm(started + length)
    if strength is not None:
        chance = rng.random()
        p.outcome = "deal" if chance < strength else "thinking" if chance < strength + .25 else \
            "no_deal" if chance < .97 else None
    visits.add(day, p, phone=_phone(rng))
    return started + length
