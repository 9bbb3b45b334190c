"""Connect storm: N boards connect to /display all at once (the TVs coming back after a power cut or
a server restart), then a reconnect storm (all drop and reconnect at once).

    .venv/bin/python bench/connect_storm.py --boards 1000
    REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/connect_storm.py --boards 1000 --processes 2

Starts the real server (serve.py, gevent, as `make run` does; harness.py) on a fresh SQLite
database in a temporary folder: the demo seed, --history-days of finished visits, --waiting
visitors waiting. Then, for each storm, every board opens its Socket.IO connection (websocket
transport) at the same instant, not in batches, and the figures are:

- wall s: from that instant until every board has received its first "board" event (or, if some
  never do within --timeout, until the last that did; they are counted as missed);
- first / p50 / p95 s: the same for the first board served, the median and the 95th-percentile
  board (gevent serves the handshakes interleaved: the first board is late too);
- server cpu s: the server processes' utime + stime (/proc/<pid>/stat, summed) over the storm,
  and per board (ms);
- client cpu s: the client processes' own CPU over the storm (to see whether the clients, not
  the server, were the limit);
- listen drops: connections the kernel dropped because the server's listen queue was full
  (TcpExt ListenDrops in /proc/net/netstat, machine-wide): each costs that client a TCP
  retransmission, 1 s or more;
- errors, by kind (exception class of a failed connect, with its message's start).

Clients: the boards are split over --client-processes processes (default 2; multiprocessing,
spawned: no server code in them), each opening its share with one asyncio.gather at a common
start instant (time.monotonic, the same clock in every process). One asyncio process could keep
up with the server here (1,000 boards: 2.1 s of client CPU in a 7 s storm), but it opens the
sockets more slowly than real TVs do, and so hides the listen queue overflowing; two open them
as fast as the server can be offered them. On a 2-core machine the clients compete with the
server for the cores: compare runs, not absolute figures.

The reconnect storm: at one instant every board disconnects, and as soon as its own disconnect is
done opens a new connection; wall s is from that instant until every board has its new first
"board" event.

Boards are spread over four rooms (all lines in zh_CN and in en, line A and line B in zh_CN), as a
clinic's TVs are, unless --same-room. --processes K starts K serve.py processes on consecutive
ports sharing the SQLite file and REDIS_URL (required when K > 1; its database is FLUSHDB'ed
first, give it one of its own, e.g. /5), boards round-robin over the processes. Several processes
on one SQLite file is fine for a benchmark (a storm reads, it does not write), not for
production (README: PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Servers, listen_drops, percentile, prepare_database

ROOMS = [None, {"lang": "en"}, {"line": "skin"}, {"line": "surgery"}]


# --- client processes ---------------------------------------------------------------------------


def client_process(conn, urls: list[str], indices: list[int], same_room: bool, timeout: float) -> None:
    """Runs in its own process: holds its share of the boards and obeys the parent's commands
    ("connect", at) / ("reconnect", at) / ("close",), answering each with its figures."""
    asyncio.run(_client_main(conn, urls, indices, same_room, timeout))


async def _client_main(conn, urls, indices, same_room, timeout) -> None:
    import socketio

    loop = asyncio.get_running_loop()
    clients: dict[int, socketio.AsyncClient] = {}
    first_board: dict[int, float] = {}

    def make(i: int) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)

        @client.on("board", namespace="/display")
        async def on_board(message, i=i, client=client):
            if clients.get(i) is client and i not in first_board:
                first_board[i] = time.monotonic()
        return client

    async def open_one(i: int, errors: Counter) -> None:
        auth = None if same_room else ROOMS[i % len(ROOMS)]
        try:
            await clients[i].connect(urls[i % len(urls)], namespaces=["/display"], transports=["websocket"],
                                     auth=auth, wait_timeout=timeout)
        except Exception as exc:  # counted, by kind: the point of a storm is what fails
            errors[f"{type(exc).__name__}: {str(exc)[:60]}"] += 1

    async def storm(at: float, reconnect: bool) -> dict:
        errors: Counter = Counter()
        first_board.clear()
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        cpu = time.process_time()

        async def cycle(i: int) -> None:
            if reconnect:
                try:
                    await clients[i].disconnect()
                except Exception as exc:
                    errors[f"disconnect {type(exc).__name__}"] += 1
            clients[i] = make(i)
            await open_one(i, errors)

        await asyncio.gather(*(cycle(i) for i in indices))
        deadline = at + timeout
        while len(first_board) < len(indices) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return {"times": [t - at for t in first_board.values()], "missed": len(indices) - len(first_board),
                "errors": errors, "cpu": time.process_time() - cpu}

    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command[0] == "close":
            await asyncio.gather(*(c.disconnect() for c in clients.values()), return_exceptions=True)
            conn.send("closed")
            return
        conn.send(await storm(command[1], reconnect=command[0] == "reconnect"))


# --- the parent ---------------------------------------------------------------------------------


def run_storm(workers, servers: Servers, kind: str, boards: int) -> dict:
    at = time.monotonic() + 1.0  # every client process starts at this instant
    cpu_before, drops_before = servers.cpu(), listen_drops()
    for conn, _ in workers:
        conn.send((kind, at))
    results = [conn.recv() for conn, _ in workers]
    cpu, drops = servers.cpu() - cpu_before, listen_drops() - drops_before
    times = [t for r in results for t in r["times"]]
    errors = sum((r["errors"] for r in results), Counter())
    return {"storm": kind, "boards": boards, "received": len(times), "missed": sum(r["missed"] for r in results),
            "wall": max(times, default=float("nan")), "first": min(times, default=float("nan")),
            "p50": percentile(times, 50), "p95": percentile(times, 95), "drops": drops,
            "server_cpu": cpu, "client_cpu": sum(r["cpu"] for r in results), "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--boards", type=int, default=1000)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--processes", type=int, default=1, help="serve.py processes (K > 1 needs REDIS_URL)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"),
                        help="Socket.IO message queue (default $REDIS_URL); its database is emptied first")
    parser.add_argument("--port", type=int, default=5077, help="the first process's port; the others follow")
    parser.add_argument("--waiting", type=int, default=60)
    parser.add_argument("--history-days", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=60, help="seconds a board may take to get its board")
    parser.add_argument("--same-room", action="store_true", help="every board in one room (all lines, zh_CN)")
    args = parser.parse_args()
    if args.processes > 1 and not args.redis_url:
        parser.error("--processes > 1 needs REDIS_URL (or --redis-url): the processes share boards through it")

    with tempfile.TemporaryDirectory() as tmp:
        database_url, _ = prepare_database(Path(tmp), waiting=args.waiting, history_days=args.history_days)
        with Servers(Path(tmp), database_url, count=args.processes, port=args.port,
                     redis_url=args.redis_url) as servers:
            spawn = multiprocessing.get_context("spawn")
            workers = []
            try:
                for w in range(args.client_processes):
                    parent, child = spawn.Pipe()
                    indices = list(range(w, args.boards, args.client_processes))
                    process = spawn.Process(target=client_process, daemon=True,
                                            args=(child, servers.urls, indices, args.same_room, args.timeout))
                    process.start()
                    workers.append((parent, process))
                print(f"server processes: {args.processes} ({'redis' if args.redis_url else 'no message queue'}), "
                      f"client processes: {args.client_processes}, waiting: {args.waiting}, "
                      f"history days: {args.history_days}, rooms: {1 if args.same_room else len(ROOMS)}")
                print(f"{'storm':>10} {'boards':>7} {'received':>9} {'missed':>7} {'wall s':>7} {'first s':>8} "
                      f"{'p50 s':>6} {'p95 s':>6} {'server cpu s':>13} {'cpu ms/board':>13} {'client cpu s':>13} "
                      f"{'listen drops':>13} {'errors':>7}")
                failures = Counter()
                for kind in ("connect", "reconnect"):
                    r = run_storm(workers, servers, kind, args.boards)
                    failures.update(r["errors"])
                    print(f"{r['storm']:>10} {r['boards']:>7} {r['received']:>9} {r['missed']:>7} {r['wall']:>7.2f} "
                          f"{r['first']:>8.2f} {r['p50']:>6.2f} {r['p95']:>6.2f} {r['server_cpu']:>13.2f} "
                          f"{r['server_cpu'] * 1000 / args.boards:>13.1f} {r['client_cpu']:>13.2f} "
                          f"{r['drops']:>13} {sum(r['errors'].values()):>7}", flush=True)
                for conn, _ in workers:
                    conn.send(("close",))
                    conn.recv()
            finally:
                for _, process in workers:
                    process.join(timeout=30)
                    if process.is_alive():
                        process.terminate()
            for error, count in failures.most_common():
                print(f"  {count} x {error}")
            problems = servers.problems()
            print(f"server log: {len(problems)} error line(s)")
            for line in problems[:10]:
                print("  " + line)


if __name__ == "__main__":
    main()
