"""Serve Lobby with gevent and Socket.IO (what `make run` calls): python serve.py

gevent's monkey patching must happen before anything else is imported, so
this entry point lives outside the lobby package.
"""

from gevent import monkey

monkey.patch_all()

import logging  # noqa: E402
import os  # noqa: E402

os.environ.setdefault("LOBBY_ASYNC_MODE", "gevent")

from lobby import create_app, message_queue  # noqa: E402
from lobby.extensions import socketio  # noqa: E402


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOBBY_LOG_LEVEL", "WARNING"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app()
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
