"""How long a visit keeps someone busy, learned from the clinic's own history.

A visit occupies the person who called it from the call to the end (called → with consultant →
with the doctor → done: the consultant stays while the doctor is in, seed 004 5.3). A called
visitor who does not come occupies them until they are skipped (no show).

The model, in log-minutes (so speeds multiply):

    log(minutes) = service + person + (service, person) + noise

- `service`: the service's typical log-duration, shrunk toward the configured minutes with
  SERVICE_PRIOR pseudo-visits, so a new clinic starts from its settings;
- `person`: how much faster or slower than usual this person runs, shrunk toward 0 (the
  service's median) with PERSON_PRIOR pseudo-visits;
- `(service, person)`: what is left for that pair, shrunk toward 0 with PAIR_PRIOR;
- `noise`: the residuals themselves (an empirical distribution, padded with a log-normal
  prior when history is short), sampled by the wait simulation.

A consultation in progress is given the conditional distribution: how long such visits run,
given they have lasted this long — never "already over".

Learned once per clinic day from the previous LEARN_DAYS days and kept in memory: a change in
the queue costs a dictionary look-up, not a scan of the history.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import statistics
import threading
import weakref
from dataclasses import dataclass, field
from statistics import NormalDist

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Service, Visit, VisitStatus

DEFAULT_MINUTES = 20.0  # a visit with no service, in a clinic with no history
LEARN_DAYS = 60
SERVICE_PRIOR = 5.0
PERSON_PRIOR = 8.0
PAIR_PRIOR = 10.0
PRIOR_SIGMA = 0.3  # log-spread of a consultation's length before the clinic has history
PRIOR_POINTS = 20  # weight of that prior among the residuals
NO_SHOW_PRIOR_RATE = 0.05
NO_SHOW_PRIOR_WEIGHT = 20.0
NO_SHOW_PRIOR_MINUTES = 3.0
# Plausible occupancies; anything else is a button pressed late or a visit left open overnight.
MIN_MINUTES, MAX_MINUTES = 1.0, 240.0


@dataclass
class DurationModel:
    configured: dict[int | None, float]
    service_log: dict[int | None, float] = field(default_factory=dict)
    person_log: dict[int, float] = field(default_factory=dict)
    pair_log: dict[tuple[int | None, int], float] = field(default_factory=dict)
    residuals: list[float] = field(default_factory=list)  # sorted, log scale
    no_show_rate: float = NO_SHOW_PRIOR_RATE
    no_show_minutes: float = NO_SHOW_PRIOR_MINUTES
    visits_learned: int = 0

    def __post_init__(self):
        if not self.residuals:
            self.residuals = _prior_residuals()

    def median(self, service_id: int | None, person_id: int | None) -> float:
        """The typical minutes this person spends on this service."""
        prior = math.log(self.configured.get(service_id) or DEFAULT_MINUTES)
        log_minutes = self.service_log.get(service_id, prior)
        if person_id is not None:
            log_minutes += self.person_log.get(person_id, 0.0) + self.pair_log.get((service_id, person_id), 0.0)
        return math.exp(log_minutes)

    def sample(self, median: float, u: float) -> float:
        """A duration drawn at quantile `u` (0..1) around a median."""
        residuals = self.residuals
        return median * math.exp(residuals[min(int(u * len(residuals)), len(residuals) - 1)])

    def remaining(self, median: float, elapsed: float, u: float) -> float:
        """Minutes still to run for a visit of this median that has lasted `elapsed` minutes, drawn at
        quantile `u` of the visits that lasted at least that long. Never 0: it is still going."""
        residuals = self.residuals
        if elapsed <= 0:
            return self.sample(median, u)
        first = bisect.bisect_right(residuals, math.log(elapsed / median))
        tail = len(residuals) - first
        if tail >= 3:
            return median * math.exp(residuals[first + min(int(u * tail), tail - 1)]) - elapsed
        # Longer than almost anything on record: such overruns tend to go on a while.
        return max(1.0, elapsed * (0.1 + 0.3 * u))

    def median_remaining(self, median: float, elapsed: float) -> float:
        return self.remaining(median, elapsed, 0.5)


def _prior_residuals() -> list[float]:
    normal = NormalDist(0.0, PRIOR_SIGMA)
    return [normal.inv_cdf((i + 0.5) / PRIOR_POINTS) for i in range(PRIOR_POINTS)]


def _shrunk_mean(values: list[float], prior: float, weight: float) -> float:
    return (prior * weight + sum(values)) / (weight + len(values))


@dataclass(frozen=True)
class Occupancy:
    service_id: int | None
    person_id: int
    minutes: float


def learn(occupancies: list[Occupancy], configured: dict[int | None, float], called: int = 0,
          no_shows: list[float] | None = None) -> DurationModel:
    """Fit the model (this module's docstring) to finished visits; `called` visits of which
    `no_shows` (their minutes from call to skip) did not come."""
    data = [o for o in occupancies if MIN_MINUTES <= o.minutes <= MAX_MINUTES]
    logs = [math.log(o.minutes) for o in data]
    prior = {sid: math.log(minutes or DEFAULT_MINUTES) for sid, minutes in configured.items()}
    service_log: dict[int | None, float] = {}
    person_log: dict[int, float] = {}
    pair_log: dict[tuple[int | None, int], float] = {}

    def prior_of(sid):
        return prior.get(sid, math.log(DEFAULT_MINUTES))

    # Alternate: services given people's speeds, people given services (a few rounds suffice).
    for _ in range(4):
        by_service: dict[int | None, list[float]] = {}
        for o, y in zip(data, logs):
            by_service.setdefault(o.service_id, []).append(y - person_log.get(o.person_id, 0.0))
        service_log = {sid: _shrunk_mean(ys, prior_of(sid), SERVICE_PRIOR) for sid, ys in by_service.items()}
        by_person: dict[int, list[float]] = {}
        for o, y in zip(data, logs):
            by_person.setdefault(o.person_id, []).append(y - service_log[o.service_id])
        person_log = {pid: _shrunk_mean(ys, 0.0, PERSON_PRIOR) for pid, ys in by_person.items()}
    by_pair: dict[tuple[int | None, int], list[float]] = {}
    for o, y in zip(data, logs):
        by_pair.setdefault((o.service_id, o.person_id), []).append(
            y - service_log[o.service_id] - person_log[o.person_id])
    pair_log = {key: _shrunk_mean(ys, 0.0, PAIR_PRIOR) for key, ys in by_pair.items()}
    residuals = sorted(y - service_log[o.service_id] - person_log[o.person_id] - pair_log[(o.service_id, o.person_id)]
                       for o, y in zip(data, logs))
    if len(residuals) < 10 * PRIOR_POINTS:  # short history: lean on the prior spread too
        residuals = sorted(residuals + _prior_residuals())
    no_shows = [m for m in (no_shows or []) if 0 < m <= MAX_MINUTES]
    return DurationModel(
        configured=dict(configured), service_log=service_log, person_log=person_log, pair_log=pair_log,
        residuals=residuals,
        no_show_rate=(NO_SHOW_PRIOR_RATE * NO_SHOW_PRIOR_WEIGHT + len(no_shows)) / (NO_SHOW_PRIOR_WEIGHT + called),
        no_show_minutes=statistics.median(no_shows) if len(no_shows) >= 3 else NO_SHOW_PRIOR_MINUTES,
        visits_learned=len(data),
    )


def _minutes(later: dt.datetime, earlier: dt.datetime) -> float:
    return (later - earlier).total_seconds() / 60


def learn_from_history(session: Session, day: dt.date) -> DurationModel:
    """The model from the LEARN_DAYS clinic days before `day` (narrow rows, one query)."""
    configured = {sid: float(minutes or DEFAULT_MINUTES)
                  for sid, minutes in session.execute(select(Service.id, Service.typical_minutes))}
    rows = session.execute(
        select(Visit.service_id, Visit.consultant_id, Visit.status, Visit.called_at,
               Visit.consultation_started_at, Visit.done_at, Visit.no_show_at)
        .where(Visit.clinic_day < day, Visit.clinic_day >= day - dt.timedelta(days=LEARN_DAYS),
               Visit.called_at.is_not(None), Visit.consultant_id.is_not(None))
    ).all()
    occupancies, no_shows, called = [], [], 0
    for service_id, person_id, status, called_at, started_at, done_at, no_show_at in rows:
        called += 1
        if no_show_at is not None and started_at is None:
            no_shows.append(_minutes(no_show_at, called_at))
        elif status == VisitStatus.DONE and done_at is not None:
            occupancies.append(Occupancy(service_id, person_id, _minutes(done_at, called_at)))
    return learn(occupancies, configured, called, no_shows)


# One model per database and clinic day, learned on first use.
_models: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def for_day(session: Session, day: dt.date) -> DurationModel:
    engine = session.get_bind()
    with _lock:
        cached = _models.get(engine)
        if cached is not None and cached[0] == day:
            return cached[1]
    model = learn_from_history(session, day)
    with _lock:
        _models[engine] = (day, model)
    return model


def forget(session: Session) -> None:
    """Learn again on next use (the services' configured minutes changed, history was imported)."""
    with _lock:
        _models.pop(session.get_bind(), None)
