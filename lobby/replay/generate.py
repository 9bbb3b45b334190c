"""Generated clinic days, for the replay and the wait-accuracy benchmark.

A mid-sized clinic: three lines (skin, surgery, post-op), five consultants of different speeds
(0.75× to 1.6× the clinic's typical minutes), a surgeon who spends the late morning in theatre and
a second doctor in the afternoon, staggered lunch breaks. Arrivals come in two peaks (late morning
and mid-afternoon); some ask for their own consultant, some are post-op visits for their surgeon,
5 % do not come when called. Consultations last a log-normal time around each service's true
median — which is not what the clinic configured (a nose consultation configured at 40 minutes
takes about 60) — times the consultant's speed.
"""

from __future__ import annotations

import datetime as dt
import math
import random

from .trace import Arrival, Clinic, Trace, TraceDay

LINES = [
    {"code": "skin", "prefix": "A", "name": "皮肤", "specialty": "skin", "post_op": False},
    {"code": "surgery", "prefix": "B", "name": "整形", "specialty": None, "post_op": False},
    {"code": "post-op", "prefix": "C", "name": "复查", "specialty": None, "post_op": True},
]
# code, line, specialty, configured minutes, true median minutes, share of arrivals
SERVICES = [
    ("peel", "skin", "skin", 20, 22, 0.26),
    ("botox", "skin", "injectables", 15, 13, 0.18),
    ("eyelid", "surgery", "eyes", 30, 34, 0.20),
    ("nose", "surgery", "nose", 40, 62, 0.10),
    ("sutures", "post-op", None, 10, 9, 0.14),
    ("dressing", "post-op", None, 15, 17, 0.12),
]
CONSULTANTS = [  # username, specialties, speed, lunch
    ("lin", ["skin", "injectables"], 0.75, ("12:00", "13:00")),
    ("wu", ["skin", "eyes"], 1.0, ("12:30", "13:30")),
    ("zhou", ["eyes", "nose"], 1.6, ("12:00", "13:00")),
    ("he", ["nose", "skin"], 1.0, ("13:00", "14:00")),
    ("xu", ["skin", "injectables", "eyes"], 1.1, ("12:30", "13:30")),
]
DOCTORS = [("dr_sun", "09:00", "18:00", [("10:00", "12:30")]), ("dr_li", "13:00", "18:00", [])]
SPREAD = 0.25  # log-normal spread of a consultation's length
NO_SHOW = 0.05
WALK_TO_ROOM = 1.0


def clinic() -> Clinic:
    staff = [{"username": name, "role": "consultant", "specialties": specs, "room": str(i + 1), "speed": speed}
             for i, (name, specs, speed, _) in enumerate(CONSULTANTS)]
    staff += [{"username": name, "role": "doctor", "specialties": [], "room": str(8 + i)}
              for i, (name, *_rest) in enumerate(DOCTORS)]
    return Clinic(timezone="Asia/Shanghai", lines=LINES, staff=staff,
                  services=[{"code": code, "line": line, "specialty": spec, "minutes": configured}
                            for code, line, spec, configured, _, _ in SERVICES])


def roster() -> list[dict]:
    shifts = [{"username": name, "start": "09:00", "end": "18:00", "breaks": [list(lunch)]}
              for name, _, _, lunch in CONSULTANTS]
    shifts += [{"username": name, "start": start, "end": end, "breaks": [list(b) for b in breaks]}
               for name, start, end, breaks in DOCTORS]
    return shifts


def _arrival_rate(minute_of_day: float, per_day: float) -> float:
    """Arrivals per minute: two peaks (10:30 and 15:00) over a low base, 09:00–17:00."""
    hours = minute_of_day / 60
    shape = 0.35 + math.exp(-((hours - 10.5) / 1.0) ** 2) + 0.9 * math.exp(-((hours - 15.0) / 1.2) ** 2)
    return per_day * shape / (8 * 60 * 0.95)


def _fits(specialties: list[str], spec: str | None) -> bool:
    return spec is None or spec in specialties


def generate_day(rng: random.Random, day: dt.date, per_day: float) -> TraceDay:
    arrivals = []
    minute = 9 * 60.0
    services, weights = SERVICES, [s[5] for s in SERVICES]
    peak = _arrival_rate(15 * 60, per_day) * 1.2
    while minute < 17 * 60:
        minute += rng.expovariate(peak)  # thinning: a Poisson process with a varying rate
        if minute >= 17 * 60 or rng.random() > _arrival_rate(minute, per_day) / peak:
            continue
        code, line, spec, _, median, _ = rng.choices(services, weights)[0]
        kind, consultant = "walk-in", None
        if line == "post-op":
            kind = "post-op"
            consultant = "dr_sun" if rng.random() < 0.5 else None
        elif rng.random() < 0.2:  # a returning client asks for her own consultant
            kind = "returning"
            consultant = rng.choice([c for c in CONSULTANTS if _fits(c[1], spec)])[0]
        arrivals.append(Arrival(at=_clock(minute), kind=kind, service=code, consultant=consultant,
                                minutes=None, median=median, no_show=rng.random() < NO_SHOW,
                                noise=rng.gauss(0.0, SPREAD)))
    return TraceDay(date=day, roster=roster(), arrivals=arrivals)


def _clock(minute: float) -> str:
    seconds = int(minute * 60)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def generate(seed: int, days: int = 11, per_day: float = 65, first_day: dt.date = dt.date(2026, 3, 2)) -> Trace:
    """`days` consecutive clinic days. How long a consultation lasts depends on who takes it (their
    speed), so the replay works it out when it knows: `median × speed × exp(noise)`."""
    rng = random.Random(seed)
    return Trace(clinic=clinic(), days=[generate_day(rng, first_day + dt.timedelta(days=i), per_day)
                                        for i in range(days)])
