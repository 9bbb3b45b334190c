"""Serve Lobby with gevent and Socket.IO (what `make run` calls): python serve.py

gevent's monkey patching must happen before anything else is imported, so
this entry point lives outside the lobby package.
"""

from gevent import monkey

monkey.patch_all()

import gc  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402

os.environ.setdefault("LOBBY_ASYNC_MODE", "gevent")

from lobby import create_app, message_queue  # noqa: E402
from lobby.extensions import socketio  # noqa: E402

# Python's cycle collector stops the whole process while it runs (every board, every request).
# With its defaults a server at 50 check-ins a second paused 100–250 ms every few seconds: most of
# that walking the objects made at start-up (modules, routes, mappers), which never die, the rest
# the objects of requests in flight promoted by collections every 700 allocations. So: what exists
# at start-up is frozen (never walked again), and the young generation is collected every 10,000
# allocations instead of 700, which lets a request's objects die by reference counting before
# they are promoted (measured at 5,000 to 100,000: 10,000 kept every pause under 25 ms; 50,000
# and more made the young collections themselves the pauses).
YOUNG_THRESHOLD = 10_000


def _tune_collector() -> None:
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    if logging.getLogger().isEnabledFor(logging.DEBUG):
        _log_collections()


def _log_collections() -> None:
    """Debug: how long the cycle collector paused the process (every full collection, and any
    younger one of 10 ms or more)."""
    import time

    log = logging.getLogger("lobby.gc")
    started = {}

    def note(phase, info):
        if phase == "start":
            started["at"] = time.perf_counter()
            return
        ms = (time.perf_counter() - started.pop("at", time.perf_counter())) * 1000
        if info["generation"] == 2 or ms >= 10:
            log.debug("a cycle collection (generation %d) paused the process %.1f ms (%d collected)",
                      info["generation"], ms, info["collected"])

    gc.callbacks.append(note)


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOBBY_LOG_LEVEL", "WARNING"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app()
    _tune_collector()
    message_queue.listen(socketio.server)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    print(f"Lobby serving on http://{host}:{port}/ (kiosk /kiosk/, board /display/, desk /admin/)", flush=True)
    # A deep listen queue: 1,000 boards reconnecting at once after a restart or a network blip
    # overflow gevent's default of 128, and each dropped connection waits a second to try again.
    # (The kernel caps it at net.core.somaxconn.)
    socketio.run(app, host=host, port=port, log_output=os.environ.get("LOBBY_ACCESS_LOG") == "1", backlog=2048)


if __name__ == "__main__":
    main()
