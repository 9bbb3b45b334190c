"""Call-to-screen latency: N board clients on /display, time from a "call next" to each board's receipt.

    .venv/bin/python bench/call_latency.py --clients 10 100 1000 --calls 20
    REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/call_latency.py --clients 200 --processes 2

Starts the real server (serve.py, gevent, as `make run` does) on a fresh SQLite
database in a temporary folder, connects N Socket.IO clients (websocket, in
batches of 50, in --client-processes asyncio processes of their own, one by
default), makes --calls calls through the API one after another (from the
parent process) and records when each client receives each "call" event. Also
reports the server-side time per change (render once per board room +
broadcast), read from the server's debug log, and the server's CPU seconds
spent connecting the N boards (utime + stime from /proc/<pid>/stat, summed
over the server processes, before and after the connect phase; "connect s" includes
starting the client processes). Clients and
server share this machine, so the figures include the clients' own
processing; compare ratios within one run. "announce ms" is the server's own share
of call → screen, from its log: from the call request's arrival to the call handed
to the boards' sockets (the frames themselves are then written by each socket).

The clinic is a realistic one: the demo seed, --history-days previous clinic
days of finished visits (40 a day: called, seen, done with an outcome, a few
no-shows; so durations are learned from history) and --waiting visitors
waiting today for other consultants and lines (checked in through the domain
in the seeding process, before the server starts). The calls are made by
"lin", for the visitor the bench checks in for her just before.

--processes K starts K serve.py processes on consecutive ports from --port,
sharing the SQLite file and REDIS_URL (the Socket.IO message queue; required
when K > 1, --redis-url or the environment, and used with K = 1 too when set;
its database is FLUSHDB'ed first, so give it one of its own, e.g. /5).
Boards are spread round-robin over the processes, the API calls go to the
first (so the publishes, and "server ms/change", are the first's). Several
processes on one SQLite file is not a production set-up (PostgreSQL is,
README), but fine for a benchmark: the writes here are one at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Servers, percentile
from harness import prepare_database as prepare_clinic


def prepare_database(instance: Path, waiting: int = 0, history_days: int = 0) -> tuple[str, str]:
    """A seeded demo clinic and an API key (and, if asked, visitors waiting and past days of
    history: harness.prepare_database); returns (database url, key)."""
    return prepare_clinic(instance, waiting=waiting, history_days=history_days, avoid="lin")


# --- client processes: each holds its share of the boards -----------------------------------------


def board_process(conn, urls: list[str], indices: list[int], refetch: bool) -> None:
    """Runs in its own process: connects its boards, then answers the parent's commands:
    ("wait", ticket, deadline) → the instants (time.monotonic, the same clock in every process)
    at which its boards received that call, once all have or at the deadline; ("close",)."""
    asyncio.run(_boards_main(conn, urls, indices, refetch))


async def _boards_main(conn, urls, indices, refetch) -> None:
    loop = asyncio.get_running_loop()
    received: dict[str, list[float]] = {}
    sockets = []
    # Re-fetch mode measures the other design: a small event, then every screen GETs its fragment.
    fetcher = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) if refetch else None

    async def connect_one(i: int):
        client = socketio.AsyncClient(reconnection=False)

        @client.on("call", namespace="/display")
        async def on_call(message):
            if refetch:
                async with fetcher.get(urls[0] + "/display/", headers={"HX-Request": "true"}) as response:
                    await response.read()
            received.setdefault(message["ticket"], []).append(time.monotonic())

        # Round-robin over the server processes.
        await client.connect(urls[i % len(urls)], namespaces=["/display"], transports=["websocket"], wait_timeout=60)
        sockets.append(client)

    for batch in range(0, len(indices), 50):  # connect in batches, as screens come online
        await asyncio.gather(*(connect_one(i) for i in indices[batch:batch + 50]))
    # This process's own collector pauses would count as the server's latency: off while calling.
    gc.collect()
    gc.disable()
    conn.send("connected")
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command[0] == "close":
            break
        _, ticket, deadline = command
        while len(received.get(ticket, [])) < len(indices) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        conn.send(received.pop(ticket, []))
    gc.enable()
    await asyncio.gather(*(s.disconnect() for s in sockets))
    if fetcher is not None:
        await fetcher.close()
    conn.send("closed")


# --- the parent: the calls ------------------------------------------------------------------------


def run_round(urls: list[str], key: str, clients: int, calls: int, refetch: bool, cpu=None,
              client_processes: int = 1) -> dict:
    context = multiprocessing.get_context("spawn")
    workers = []
    cpu_before = cpu() if cpu else float("nan")
    started = time.perf_counter()
    for k in range(client_processes):
        parent, child = context.Pipe()
        process = context.Process(target=board_process, daemon=True,
                                  args=(child, urls, list(range(k, clients, client_processes)), refetch))
        process.start()
        workers.append((parent, process))
    for conn, _ in workers:
        ready = conn.recv()
        if ready != "connected":
            raise RuntimeError(f"a board process did not connect: {ready!r}")
    connect_seconds = time.perf_counter() - started
    connect_cpu = (cpu() if cpu else float("nan")) - cpu_before
    try:
        latencies, missing = asyncio.run(_calls(urls[0], key, clients, calls, workers))
    finally:
        for conn, process in workers:
            try:
                conn.send(("close",))
                while conn.recv() != "closed":  # (an answer to a "wait" cut short by an error)
                    pass
            except (OSError, EOFError):  # that process died: the error that matters is elsewhere
                pass
            process.join(timeout=30)
    return {"clients": clients, "calls": calls, "connect_s": connect_seconds, "connect_cpu": connect_cpu,
            "missing": missing, "p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
            "p99": percentile(latencies, 99), "max": max(latencies)}


async def _calls(url: str, key: str, clients: int, calls: int, workers) -> tuple[list[float], int]:
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    received = 0
    async with aiohttp.ClientSession(headers=headers) as http:
        for i in range(calls):
            async with http.post(f"{url}/api/v1/visits", json={
                    "name": f"测试{i}", "phone": f"139{i:08d}", "kind": "walk-in", "service": "laser-hair",
                    "consultant": "lin"}) as response:
                assert response.status == 201, await response.text()
            await asyncio.sleep(0.3)  # let the check-in's broadcast pass before timing the call
            sent = time.monotonic()
            async with http.post(f"{url}/api/v1/consultants/lin/call-next") as response:
                body = await response.json()
                assert response.status == 200, body
            deadline = time.monotonic() + 30
            for conn, _ in workers:
                conn.send(("wait", body["ticket"], deadline))
            for conn, _ in workers:
                times = conn.recv()
                latencies += [(t - sent) * 1000 for t in times]
                received += len(times)
            async with http.post(f"{url}/api/v1/visits/{body['id']}/transition", json={"to": "left"}):
                pass
    return latencies, clients * calls - received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--port", type=int, default=5077, help="the first process's port; the others follow")
    parser.add_argument("--refetch", action="store_true",
                        help="measure the re-fetch design instead: each screen GETs the fragment after the event")
    parser.add_argument("--waiting", type=int, default=60, help="visitors waiting for others before the round")
    parser.add_argument("--history-days", type=int, default=30, help="previous clinic days of finished visits")
    parser.add_argument("--processes", type=int, default=1, help="serve.py processes (K > 1 needs REDIS_URL)")
    parser.add_argument("--client-processes", type=int, default=1,
                        help="processes the boards are spread over (one reading 1,000 sockets in turn is itself "
                             "a part of the tail a real screen, its own device, does not have)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"),
                        help="Socket.IO message queue for K > 1 (default $REDIS_URL); its database is emptied first")
    args = parser.parse_args()
    if args.processes > 1 and not args.redis_url:
        parser.error("--processes > 1 needs REDIS_URL (or --redis-url): the processes share boards through it")

    with tempfile.TemporaryDirectory() as tmp:
        database_url, key = prepare_database(Path(tmp), args.waiting, args.history_days)
        with Servers(Path(tmp), database_url, count=args.processes, port=args.port,
                     redis_url=args.redis_url) as servers:
            print("mode:", "re-fetch (event, then GET per screen)" if args.refetch else "broadcast (fragment pushed)")
            print(f"server processes: {args.processes} ({'redis' if args.redis_url else 'no message queue'}), "
                  f"client processes: {args.client_processes}, "
                  f"waiting: {args.waiting}, history days: {args.history_days}")
            print(f"{'clients':>8} {'calls':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} "
                  f"{'missed':>7} {'server ms/change (median)':>26} {'connect s':>10} {'connect cpu s':>14} "
                  f"{'announce ms p50':>14} {'announce ms p99':>14}")
            for clients in args.clients:
                before, announced_before = len(servers.publishes()), len(servers.announcements())
                result = run_round(servers.urls, key, clients, args.calls, args.refetch, servers.cpu,
                                   args.client_processes)
                publishes = [ms for _, _, ms in servers.publishes()[before:]]
                server_ms = statistics.median(publishes) if publishes else float("nan")
                announced = servers.announcements()[announced_before:]
                print(f"{clients:>8} {result['calls']:>6} {result['p50']:>8.1f} {result['p95']:>8.1f} "
                      f"{result['p99']:>8.1f} {result['max']:>8.1f} {result['missing']:>7} {server_ms:>26.1f} "
                      f"{result['connect_s']:>10.1f} {result['connect_cpu']:>14.2f} "
                      f"{percentile(announced, 50):>14.1f} {percentile(announced, 99):>14.1f}", flush=True)
            for kind, times in sorted(servers.pauses().items()):
                print(f"server pauses, {kind}: {len(times)}, ms max {max(times):.0f}, total {sum(times):.0f}")
            problems = servers.problems()
            print(f"server log: {len(problems)} error line(s)")
            for line in problems[:10]:
                print("  " + line)


if __name__ == "__main__":
    main()
