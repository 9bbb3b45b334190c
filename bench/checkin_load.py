"""Check-in load, open loop: check-ins through the API at a fixed rate whatever the server's answers,
or a burst of them at once; how the server copes, and how often the screens are re-rendered.

    .venv/bin/python bench/checkin_load.py --rate 50 --duration 60
    .venv/bin/python bench/checkin_load.py --burst 200

Starts the real server (serve.py, gevent, as `make run` does; harness.py), one process, on a fresh
SQLite database in a temporary folder: the demo seed, --history-days of finished visits and
--waiting visitors waiting. --boards boards are connected to /display (websocket) during the run.

Open loop: request i is sent at t0 + i / rate, as its own asyncio task, whether or not the earlier
ones have answered (no connection limit on the client), each with its own Idempotency-Key and a
client timeout (--timeout). Latency is counted from the moment the request was due, so a client
that fell behind its schedule does not hide the server's slowness (and "late ms" says how far
the client itself fell behind). --burst N instead fires N check-ins at the same instant.

Prints: sent, 2xx, errors by kind (HTTP status, timeout, connection error), the rate sent and
the rate of 2xx answers, latency p50/p95/p99/max of the 2xx answers; the publishes (the server
log's "published N event(s) in X ms" lines) per second during the run, max and mean, with the
events each carried, their median ms and the longest gap between two publishes (from the first
request due): the coalescing bounds the board renders to about 1000 / LOBBY_PUBLISH_INTERVAL_MS
a second, whatever the rate of check-ins; the most "board" events a connected board received in
one second; and the server's CPU seconds (utime + stime, /proc/<pid>/stat) over the run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Servers, per_second, percentile, prepare_database

SERVICES = ["laser-hair", "ipl", "skin-consult", "acne", "filler", "botox", "eyelid", "rhinoplasty",
            "liposuction", "breast"]


async def run_load(url: str, key: str, *, rate: float, duration: float, burst: int, timeout: float,
                   boards: int) -> dict:
    loop = asyncio.get_running_loop()
    board_events: list[list[float]] = [[] for _ in range(boards)]
    sockets = []

    async def connect_board(i: int) -> None:
        client = socketio.AsyncClient(reconnection=False)

        @client.on("board", namespace="/display")
        async def on_board(message):
            board_events[i].append(time.time())

        await client.connect(url, namespaces=["/display"], transports=["websocket"], wait_timeout=30)
        sockets.append(client)

    await asyncio.gather(*(connect_board(i) for i in range(boards)))
    rng = random.Random(1)
    count = burst or int(rate * duration)
    results: list[tuple[str, float, float]] = []  # (outcome, ms from the moment it was due, s into the run)
    lateness: list[float] = []
    headers = {"Authorization": f"Bearer {key}"}
    # No limit on connections: an open loop never waits for a free one.
    # The timeout exact (aiohttp rounds one of 5 s or more up to a whole second otherwise).
    session = aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(limit=0),
                                    timeout=aiohttp.ClientTimeout(total=timeout, ceil_threshold=float("inf")))

    async def check_in(i: int, due: float) -> None:
        lateness.append((loop.time() - due) * 1000)
        body = {"name": f"压测{i}", "phone": f"135{i:08d}", "kind": "walk-in", "service": rng.choice(SERVICES)}
        try:
            async with session.post(f"{url}/api/v1/visits", json=body,
                                    headers={"Idempotency-Key": uuid.uuid4().hex}) as response:
                await response.read()
                outcome = "2xx" if 200 <= response.status < 300 else f"HTTP {response.status}"
        except TimeoutError:
            outcome = "timeout"
        except aiohttp.ClientError as exc:
            outcome = f"connection: {type(exc).__name__}"
        results.append((outcome, (loop.time() - due) * 1000, due - t0))

    tasks = []
    wall_start = time.time()
    t0 = loop.time() + 0.2
    for i in range(count):
        due = t0 if burst else t0 + i / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        tasks.append(asyncio.create_task(check_in(i, due)))
    sent_seconds = loop.time() - t0
    await asyncio.gather(*tasks)
    elapsed = loop.time() - t0
    wall_end = time.time()
    await asyncio.sleep(0.5)  # the last publish reaches the boards
    await session.close()
    await asyncio.gather(*(s.disconnect() for s in sockets))
    return {"results": results, "lateness": lateness, "sent_seconds": sent_seconds, "elapsed": elapsed,
            "window": (wall_start + 0.2, wall_end), "board_events": board_events}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50, help="check-ins per second")
    parser.add_argument("--duration", type=float, default=60, help="seconds")
    parser.add_argument("--burst", type=int, default=0, help="instead: this many check-ins at once")
    parser.add_argument("--timeout", type=float, default=10, help="client timeout per request, seconds")
    parser.add_argument("--waiting", type=int, default=60)
    parser.add_argument("--history-days", type=int, default=30)
    parser.add_argument("--boards", type=int, default=10, help="boards connected during the run")
    parser.add_argument("--port", type=int, default=5077)
    parser.add_argument("--slowest", type=int, default=0,
                        help="also list the N slowest answers with the second of the run they were due in "
                             "(slow answers bunched in one second point at a pause, spread ones at load)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        database_url, key = prepare_database(Path(tmp), waiting=args.waiting, history_days=args.history_days)
        # One process, SQLite, no message queue, the default coalescing unless the environment says.
        with Servers(Path(tmp), database_url, count=1, port=args.port) as servers:
            url = servers.urls[0]
            cpu_before = servers.cpu()
            # The client's own pauses would count as the server's latency: no cycle collection in
            # this process during the run (a minute of a load client's garbage fits in memory).
            gc.collect()
            gc.disable()
            r = asyncio.run(run_load(url, key, rate=args.rate, duration=args.duration, burst=args.burst,
                                     timeout=args.timeout, boards=args.boards))
            cpu = servers.cpu() - cpu_before
            gc.enable()
            start, end = r["window"]
            publishes = [p for p in servers.publishes() if start <= p[0] <= end + 0.5]
            problems = servers.problems()
            pauses = servers.pauses()

    results = r["results"]
    outcomes = Counter(outcome for outcome, _, _ in results)
    ok = [ms for outcome, ms, _ in results if outcome == "2xx"]
    per_s = per_second([p[0] for p in publishes], start, end)
    board_max = max((max(per_second(times, start, end + 0.5)) for times in r["board_events"] if times), default=0)
    sent_rate = "-" if args.burst else f"{len(results) / max(r['sent_seconds'], 1e-9):.1f}"
    mode = f"burst of {args.burst}" if args.burst else f"open loop, {args.rate:g}/s for {args.duration:g} s"
    print(f"mode: {mode}; waiting before: {args.waiting}, history days: {args.history_days}, "
          f"boards: {args.boards}, timeout: {args.timeout:g} s, "
          f"publish interval: {os.environ.get('LOBBY_PUBLISH_INTERVAL_MS', '100')} ms")
    print(f"{'sent':>6} {'2xx':>6} {'errors':>7} {'sent/s':>7} {'2xx/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'max ms':>8} {'late ms':>8} {'server cpu s':>13}")
    print(f"{len(results):>6} {len(ok):>6} {len(results) - len(ok):>7} "
          f"{sent_rate:>7} "
          f"{len(ok) / r['elapsed']:>7.1f} {percentile(ok, 50):>8.0f} {percentile(ok, 95):>8.0f} "
          f"{percentile(ok, 99):>8.0f} {max(ok, default=float('nan')):>8.0f} {max(r['lateness']):>8.0f} "
          f"{cpu:>13.2f}")
    moments = [start] + [p[0] for p in publishes]
    gap = max((b - a for a, b in itertools.pairwise(moments)), default=float("nan"))
    print(f"{'publishes':>10} {'per s max':>10} {'per s mean':>11} {'events/publish':>15} {'publish ms p50':>15} "
          f"{'max gap s':>10} {'board events/s max':>19}")
    print(f"{len(publishes):>10} {max(per_s):>10} {statistics.mean(per_s):>11.1f} "
          f"{statistics.mean([p[1] for p in publishes]) if publishes else float('nan'):>15.1f} "
          f"{statistics.median([p[2] for p in publishes]) if publishes else float('nan'):>15.1f} {gap:>10.2f} "
          f"{board_max:>19}")
    print(f"the run: {r['elapsed']:.1f} s from the first request due to the last answer")
    for outcome, count in sorted(outcomes.items()):
        if outcome != "2xx":
            print(f"  {count} x {outcome}")
    for kind, times in sorted(pauses.items()):
        print(f"server pauses, {kind}: {len(times)}, ms max {max(times):.0f}, total {sum(times):.0f}")
    if args.slowest:
        slowest = sorted((r for r in results if r[0] == "2xx"), key=lambda r: -r[1])[:args.slowest]
        print(f"the {len(slowest)} slowest answers (ms @ second due): "
              + ", ".join(f"{ms:.0f} @ {at:.1f}" for _, ms, at in sorted(slowest, key=lambda r: r[2])))
    print(f"server log: {len(problems)} error line(s)")
    for line in problems[:10]:
        print("  " + line)


if __name__ == "__main__":
    main()
