"""Serve the app with Socket.IO: python -m lobby (what `make run` calls)."""

import os

from . import create_app
from .extensions import socketio


def main() -> None:
    app = create_app()
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True)


if __name__ == "__main__":
    main()
