"""The rest of the clinic's day, simulated: who will call whom, and when.

Each person who sees visitors is on duty in spans (minutes from now: the roster with its breaks,
the desk's "away until"). Whoever has a visitor in front of them is busy for the rest of that
visit (how long such visits run, given they have lasted this long: durations.py). Whenever
someone is on duty and free, they call next — the rule call-next follows (dispatch.pick_next:
the longest-waiting visitor they may serve) — and are busy for a duration drawn for that service
and that person, or for a few minutes when the visitor called does not come.

`may_serve` is asked once per kind of visitor and person, and each person's candidates are kept
longest-waiting first, so a pick is the first of them nobody has taken yet: pick_next itself,
without scanning the queue each time.

Many runs with durations drawn from what was learned give each visitor a distribution of waits
(waits.py turns it into "about N, at most M"). The draws are a randomly shifted lattice seeded
by the day: the same queue always gets the same answer, and a few dozen runs give steady figures.
"""

from __future__ import annotations

import heapq
import math
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from ..models import Staff, Visit
from .dispatch import may_serve, waiting_order
from .durations import DurationModel


class Server:
    """One person who sees visitors, as the simulation knows them."""

    def __init__(self, staff: Staff, spans: list[tuple[float, float]]):
        self.staff = staff
        self.spans = spans  # on duty, [start, end) in minutes from now
        self.eligible: list[int] = []  # the waiting visitors they may serve, longest-waiting first
        self.medians: list[float] = []  # the typical minutes of each of those, with this person
        self.in_front: list[int] = []  # the visits in progress with them (indexes into in_progress)

    def copy(self) -> Server:
        twin = Server(self.staff, self.spans)
        twin.eligible, twin.medians, twin.in_front = list(self.eligible), list(self.medians), list(self.in_front)
        return twin

    def on_duty_from(self, t: float) -> float | None:
        """The first instant from `t` at which they are on duty, None if not again today."""
        for start, end in self.spans:
            if t < end:
                return max(t, start)
        return None


@dataclass(frozen=True)
class InProgress:
    """A visit in front of someone now: who it keeps busy, its typical minutes, how long so far."""
    people: frozenset[int]
    median: float
    elapsed: float


@dataclass(frozen=True)
class Run:
    starts: list[float | None]  # when each waiting visitor is called (minutes from now); None: not today
    taken_by: list[int | None]  # by whom (index into servers)
    free_for_newcomers: list[float | None]  # when each server has called everyone it may serve

    def copy(self) -> Run:
        return Run(list(self.starts), list(self.taken_by), list(self.free_for_newcomers))


class Forecast:
    """The simulation of one queue: `servers` (with their spans), `waiting` (longest-waiting first),
    the visits in progress, and the learned durations."""

    def __init__(self, servers: list[Server], waiting: Sequence[Visit], in_progress: list[InProgress],
                 model: DurationModel, seed: int):
        self.servers = servers
        self.waiting = list(waiting)
        self.in_progress = in_progress
        self.model = model
        self.seed = seed
        self._spread = [math.exp(r) for r in model.residuals]  # duration / median, sorted
        self._draws_needed = len(in_progress) + 2 * len(waiting)
        by_id = {server.staff.id: server for server in servers}
        for index, visit in enumerate(in_progress):
            for person in visit.people:
                if person in by_id:
                    by_id[person].in_front.append(index)
        self._match(waiting)

    def _match(self, waiting: Sequence[Visit]) -> None:
        """Who may serve whom, asked once per kind of visitor rather than once per visitor."""
        groups: dict[tuple, list[int]] = {}
        for index, visit in enumerate(waiting):
            groups.setdefault((visit.consultant_id, visit.line_id, visit.service_id, visit.kind), []).append(index)
        medians: dict[tuple, float] = {}
        for members in groups.values():
            sample = waiting[members[0]]
            for server in self.servers:
                if may_serve(server.staff, sample):
                    key = (sample.service_id, server.staff.id)
                    if key not in medians:
                        medians[key] = self.model.median(*key)
                    server.eligible.extend(members)
                    server.medians.extend([medians[key]] * len(members))
        for server in self.servers:  # longest-waiting first (waiting is in that order)
            order = sorted(range(len(server.eligible)), key=server.eligible.__getitem__)
            server.eligible = [server.eligible[i] for i in order]
            server.medians = [server.medians[i] for i in order]

    def run(self, draws: list[float] | None) -> Run:
        """One simulated rest of the day. `draws`: the run's uniform numbers, one per visit in progress
        then two per waiting visitor (whether they come when called, how long they take), so each
        visitor's numbers are their own whatever the order of events; None: the typical day (every
        duration at its median, nobody fails to come). The hot loop: kept flat."""
        model = self.model
        typical = draws is None
        if typical:
            draws = [0.5] * self._draws_needed
        no_show_rate = 0.0 if typical else model.no_show_rate
        no_show_minutes = model.no_show_minutes
        base = len(self.in_progress)
        remaining = [model.remaining(v.median, v.elapsed, draws[i]) for i, v in enumerate(self.in_progress)]
        spread = [1.0] if typical else self._spread
        last, n_spread = len(spread) - 1, len(spread)
        servers = self.servers
        starts: list[float | None] = [None] * len(self.waiting)
        taken_by: list[int | None] = [None] * len(self.waiting)
        free_for_newcomers: list[float | None] = [None] * len(servers)
        next_pick = [0] * len(servers)
        ready = []
        for index, server in enumerate(servers):
            t = server.on_duty_from(max((remaining[i] for i in server.in_front), default=0.0))
            if t is not None:
                ready.append((t, index))
        heapq.heapify(ready)
        pop, push = heapq.heappop, heapq.heappush
        while ready:
            t, index = pop(ready)
            server = servers[index]
            pick, eligible = next_pick[index], server.eligible
            end = len(eligible)
            while pick < end and starts[eligible[pick]] is not None:
                pick += 1
            next_pick[index] = pick
            if pick == end:  # nobody left they may serve: free for a newcomer from t
                free_for_newcomers[index] = t
                continue
            visitor = eligible[pick]
            starts[visitor] = t
            taken_by[visitor] = index
            own = base + 2 * visitor
            if draws[own] < no_show_rate:
                t += no_show_minutes
            else:
                slot = int(draws[own + 1] * n_spread)
                t += server.medians[pick] * spread[slot if slot < last else last]
            spans = server.spans
            if t >= spans[0][1] or t < spans[0][0]:  # past the first span: a break or the end of the day
                t = server.on_duty_from(t)
                if t is None:
                    continue
            push(ready, (t, index))
        return Run(starts, taken_by, free_for_newcomers)

    def copy(self) -> Forecast:
        """A copy that add_last may grow without touching this one (the runs, the draws, who may
        serve whom); the visits, people and learned durations are shared."""
        twin = object.__new__(Forecast)
        twin.__dict__.update(self.__dict__)
        twin.waiting = list(self.waiting)
        twin.servers = [server.copy() for server in self.servers]
        twin.results = [run.copy() for run in self.results]
        twin.typical_run = self.typical_run.copy()
        return twin  # the lattice is shared: it only grows, the same numbers whoever grows it

    def simulate(self, count: int) -> None:
        """Run the day `count` times with drawn durations (`results`), and once typically."""
        self._lattice = Lattice(self.seed, count, self._draws_needed)
        self.results = [self.run(draws) for draws in self._lattice.rows]
        self.typical_run = self.run(None)

    def add_last(self, visit: Visit) -> int:
        """A visitor who arrived after everyone waiting (a check-in's newcomer), added to every day
        already simulated without running it again; returns their index in `waiting`.

        Everyone calls the longest-waiting first, so nobody reaches the newcomer before having
        called everyone else they may serve: nobody else's call moves. In each run the newcomer is
        called by the first of the people who may serve them to be free for newcomers, who is then
        busy for the newcomer's own draws. The result is the one simulate() would give the queue
        with the newcomer in it (a test holds it to that)."""
        index = len(self.waiting)
        self.waiting.append(visit)
        self._draws_needed += 2
        self._lattice.reach(self._draws_needed)
        fitting = []
        for number, server in enumerate(self.servers):
            if may_serve(server.staff, visit):
                median = self.model.median(visit.service_id, server.staff.id)
                server.eligible.append(index)
                server.medians.append(median)
                fitting.append((number, median))
        own = len(self.in_progress) + 2 * index
        for draws, run in zip([*self._lattice.rows, None], [*self.results, self.typical_run]):
            first = None
            for number, median in fitting:
                free = run.free_for_newcomers[number]
                if free is not None and (first is None or free < first[0]):
                    first = (free, number, median)
            if first is None:
                run.starts.append(None)
                run.taken_by.append(None)
                continue
            t, number, median = first
            run.starts.append(t)
            run.taken_by.append(number)
            if draws is None:
                t += median
            elif draws[own] < self.model.no_show_rate:
                t += self.model.no_show_minutes
            else:
                t += median * self._spread[min(int(draws[own + 1] * len(self._spread)), len(self._spread) - 1)]
            run.free_for_newcomers[number] = self.servers[number].on_duty_from(t)
        return index


class Lattice:
    """Each run's uniform numbers: a randomly shifted lattice, so that across the runs every single
    draw (a given visitor's duration, say) covers its whole range evenly. Seeded: the same queue
    always gets the same numbers; grown one visitor at a time, it gives the numbers it would have
    given the longer queue from the start."""

    def __init__(self, seed: int, runs: int, draws: int):
        self._rng = random.Random(seed)
        self._runs = runs
        self._units = [g for g in range(1, runs) if math.gcd(g, runs) == 1] or [1]
        self.rows: list[list[float]] = [[] for _ in range(runs)]
        self._lock = threading.Lock()
        self.grow(draws)

    def reach(self, draws: int) -> None:
        """At least `draws` numbers in each row. Forecasts copied from one another share their
        lattice: each reads only the first numbers it needs, and the next numbers are the same
        whichever copy asks for them first."""
        with self._lock:
            self.grow(draws - (len(self.rows[0]) if self.rows else draws))

    def grow(self, draws: int) -> None:
        for _ in range(draws):
            base, step = self._rng.random(), self._rng.choice(self._units) / self._runs
            for k, row in enumerate(self.rows):
                row.append((base + k * step) % 1.0)


def longest_waiting_first(visits: Sequence[Visit]) -> list[Visit]:
    return sorted(visits, key=waiting_order)


def quantile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(int(q * len(sorted_values)), len(sorted_values) - 1)]


def told(samples: list[float | None], upper_quantile: float) -> tuple[int, int] | None:
    """(about, at most) in whole minutes from one visitor's simulated waits: the median and the
    `upper_quantile`; None when they are not called in most simulated days (nobody can serve them)."""
    known = sorted(s for s in samples if s is not None)
    # None unless the median itself is a day they are called (half the days exactly is not enough).
    if not known or min(int(0.5 * len(samples)), len(samples) - 1) >= len(known):
        return None
    ordered = known + [math.inf] * (len(samples) - len(known))  # not called: the longest
    about = round(quantile(ordered, 0.5))
    upper = quantile(ordered, upper_quantile)
    return about, about if math.isinf(upper) else max(about, math.ceil(upper - 1e-9))
