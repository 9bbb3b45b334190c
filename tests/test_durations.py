"""Durations learned from the clinic's own history beat the configured minutes."""

import math
import random
import statistics

from lobby.domain import durations
from lobby.replay.generate import CONSULTANTS, SERVICES, SPREAD


def generated_history(seed, visits):
    """Who took what and for how long, as the generated clinic does: each service's true median
    (not the configured one) times the consultant's speed, with log-normal spread."""
    rng = random.Random(seed)
    services = [s for s in SERVICES if s[2] is not None]
    people = {name: (i + 1, specs, speed) for i, (name, specs, speed, _) in enumerate(CONSULTANTS)}
    rows = []
    while len(rows) < visits:
        code, _, spec, _, median, _ = rng.choice(services)
        name, (person, specs, speed) = rng.choice(list(people.items()))
        if spec in specs:
            rows.append(durations.Occupancy(services.index(next(s for s in services if s[0] == code)), person,
                                            median * speed * math.exp(rng.gauss(0, SPREAD))))
    return rows, {i: float(s[3]) for i, s in enumerate(services)}


def test_learned_durations_beat_the_configured_minutes():
    history, configured = generated_history(seed=11, visits=600)
    model = durations.learn(history, configured)
    held_out, _ = generated_history(seed=12, visits=300)
    learned = statistics.fmean(abs(o.minutes - model.median(o.service_id, o.person_id)) for o in held_out)
    as_configured = statistics.fmean(abs(o.minutes - configured[o.service_id]) for o in held_out)
    assert learned < 0.6 * as_configured, (learned, as_configured)
    # The nose (configured 40) is learned near its true 62; the slow consultant near 1.6×.
    nose = next(i for i, s in enumerate(s for s in SERVICES if s[2]) if s[0] == "nose")
    assert 55 <= model.median(nose, None) <= 70
    zhou = next(i + 1 for i, c in enumerate(CONSULTANTS) if c[0] == "zhou")
    assert 1.4 <= model.median(nose, zhou) / model.median(nose, None) <= 1.8


def test_a_new_clinic_starts_from_its_configured_minutes_and_a_few_visits_move_it_little():
    configured = {1: 40.0}
    assert durations.learn([], configured).median(1, None) == 40.0
    few = durations.learn([durations.Occupancy(1, 7, 80.0)] * 2, configured)
    assert 40 < few.median(1, None) < 50  # two long visits: shrunk toward the configured 40
    assert few.median(1, 7) < 80  # and one consultant's two visits, toward the service


def test_a_consultation_in_progress_always_has_time_left():
    model = durations.learn([], {1: 30.0})
    for elapsed in (0, 10, 29, 45, 120):
        for u in (0.01, 0.5, 0.99):
            assert model.remaining(30.0, elapsed, u) > 0
    assert model.median_remaining(30.0, 60) < model.median_remaining(30.0, 10) + 60
