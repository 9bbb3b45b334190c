"""Call-to-screen latency: N board clients on /display, time from a "call next" to each board's receipt.

    .venv/bin/python bench/call_latency.py --clients 10 100 1000 --calls 20

Starts the real server (serve.py, gevent, as `make run` does) on a fresh SQLite
database in a temporary folder, connects N Socket.IO clients (websocket, one
asyncio process), makes --calls calls through the API one after another and
records when each client receives each "call" event. Also reports the
server-side time per change (render once per board room + broadcast), read
from the server's debug log. Clients and server share this machine, so the
figures include the clients' own processing; compare ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def prepare_database(instance: Path) -> tuple[str, str]:
    """A seeded demo clinic and an API key; returns (database url, key)."""
    os.environ.update(LOBBY_INSTANCE_PATH=str(instance), SECRET_KEY="bench",
                      DATABASE_URL=f"sqlite:///{instance / 'bench.db'}")
    from lobby import create_app
    from lobby.api.keys import create_api_key
    from lobby.extensions import db
    from lobby.seed import seed_demo

    app = create_app({"WEBHOOKS_SEND": False})  # the server started below sends; this process only seeds
    with app.app_context():
        db.create_all()
        seed_demo(db.session, admin_password="bench-only-password")
        _, key = create_api_key(db.session, "bench")
        db.session.commit()
    return os.environ["DATABASE_URL"], key


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def run_round(url: str, key: str, clients: int, calls: int, refetch: bool) -> dict:
    received: dict[str, list[float]] = {}
    sockets = []
    # Re-fetch mode measures the other design: a small event, then every screen GETs its fragment.
    fetcher = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) if refetch else None

    async def connect_one(i: int):
        client = socketio.AsyncClient(reconnection=False)

        @client.on("call", namespace="/display")
        async def on_call(message):
            if refetch:
                async with fetcher.get(url + "/display/", headers={"HX-Request": "true"}) as response:
                    await response.read()
            received.setdefault(message["ticket"], []).append(time.perf_counter())

        await client.connect(url, namespaces=["/display"], transports=["websocket"], wait_timeout=60)
        sockets.append(client)

    started = time.perf_counter()
    for batch in range(0, clients, 50):  # connect in batches, as screens come online
        await asyncio.gather(*(connect_one(i) for i in range(batch, min(clients, batch + 50))))
    connect_seconds = time.perf_counter() - started

    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    missing = 0
    async with aiohttp.ClientSession(headers=headers) as http:
        for i in range(calls):
            async with http.post(f"{url}/api/v1/visits", json={
                    "name": f"测试{i}", "phone": f"139{i:08d}", "kind": "walk-in", "service": "laser-hair",
                    "consultant": "lin"}) as response:
                assert response.status == 201, await response.text()
            await asyncio.sleep(0.3)  # let the check-in's broadcast pass before timing the call
            sent = time.perf_counter()
            async with http.post(f"{url}/api/v1/consultants/lin/call-next") as response:
                body = await response.json()
                assert response.status == 200, body
            ticket = body["ticket"]
            deadline = time.perf_counter() + 30
            while len(received.get(ticket, [])) < clients and time.perf_counter() < deadline:
                await asyncio.sleep(0.005)
            times = received.get(ticket, [])
            missing += clients - len(times)
            latencies += [(t - sent) * 1000 for t in times]
            async with http.post(f"{url}/api/v1/visits/{body['id']}/transition", json={"to": "left"}):
                pass
    await asyncio.gather(*(s.disconnect() for s in sockets))
    if fetcher is not None:
        await fetcher.close()
    return {"clients": clients, "calls": calls, "connect_s": connect_seconds, "missing": missing,
            "p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "p99": percentile(latencies, 99),
            "max": max(latencies)}


PUBLISH = re.compile(r"published (\d+) event\(s\) in ([\d.]+) ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--port", type=int, default=5077)
    parser.add_argument("--refetch", action="store_true",
                        help="measure the re-fetch design instead: each screen GETs the fragment after the event")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        database_url, key = prepare_database(Path(tmp))
        log_path = Path(tmp) / "server.log"
        env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "bench", "PORT": str(args.port),
               "LOBBY_INSTANCE_PATH": tmp, "LOBBY_LOG_LEVEL": "DEBUG"}
        with log_path.open("w") as log:
            server = subprocess.Popen([sys.executable, "serve.py"], cwd=ROOT, env=env, stdout=log,
                                      stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{args.port}"
            deadline = time.time() + 30
            while time.time() < deadline:
                try:
                    import urllib.request

                    urllib.request.urlopen(url + "/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            print("mode:", "re-fetch (event, then GET per screen)" if args.refetch else "broadcast (fragment pushed)")
            print(f"{'clients':>8} {'calls':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} "
                  f"{'missed':>7} {'server ms/change (median)':>26} {'connect s':>10}")
            for clients in args.clients:
                before = len(PUBLISH.findall(log_path.read_text()))
                result = asyncio.run(run_round(url, key, clients, args.calls, args.refetch))
                publishes = [float(ms) for _, ms in PUBLISH.findall(log_path.read_text())[before:]]
                server_ms = statistics.median(publishes) if publishes else float("nan")
                print(f"{clients:>8} {result['calls']:>6} {result['p50']:>8.1f} {result['p95']:>8.1f} "
                      f"{result['p99']:>8.1f} {result['max']:>8.1f} {result['missing']:>7} {server_ms:>26.1f} "
                      f"{result['connect_s']:>10.1f}", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
