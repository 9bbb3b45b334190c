"""The message queue (Redis) that carries each process's broadcasts to the screens of the others.

Socket.IO's own Redis manager, made to live through an outage of Redis:

- a broadcast still reaches this process's own screens at once (the manager hands it to them
  before publishing); what the other processes miss is made good when Redis returns;
- the listener tries again every second, not with a back-off that reaches a minute, so a
  process hears the others again within a second or two of Redis coming back;
- once subscribed again, the process re-publishes the queue's current state (lobby/realtime.py),
  so every screen converges without a restart: the boards show the calls made meanwhile;
- the outage is logged once when it starts, then at most every LOG_EVERY seconds with a count,
  and once when it ends, not once per failed publish;
- /healthz reports it (`status()`), so the load balancer's checks show the process degraded.
"""

from __future__ import annotations

import logging
import threading
import time

import socketio

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0
LOG_EVERY = 30.0
# Never wait on an unreachable Redis for long: a committing request publishes through it.
REDIS_OPTIONS = {"socket_connect_timeout": 1.0, "health_check_interval": 5}


class ResilientRedisManager(socketio.RedisManager):
    def __init__(self, url: str, channel: str, on_return=None):
        super().__init__(url, channel=channel, redis_options=dict(REDIS_OPTIONS))
        self.on_return = on_return  # called (in the listener) once subscribed again after an outage
        self.subscribed = False
        self._down_since: float | None = None
        self._failures = 0
        self._last_log = 0.0
        self._lock = threading.Lock()
        self._pinger = None

    # --- what the process knows of Redis ----------------------------------------------------

    @property
    def healthy(self) -> bool:
        return self.subscribed and self._down_since is None

    def failed(self, what: str, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self._failures += 1
            if self._down_since is None:
                self._down_since = self._last_log = now
                log.error("message queue unreachable (%s: %s); this process's screens still get its own "
                          "changes, the others' wait for its return", what, exc)
            elif now - self._last_log >= LOG_EVERY:
                self._last_log = now
                log.error("message queue still unreachable after %.0f s (%d failed attempts)",
                          now - self._down_since, self._failures)

    def _back(self) -> bool:
        with self._lock:
            was_down = self._down_since is not None
            if was_down:
                log.warning("message queue back after %.1f s (%d failed attempts); re-publishing the current state",
                            time.monotonic() - self._down_since, self._failures)
            self._down_since, self._failures = None, 0
            return was_down

    def pinger(self):
        if self._pinger is None:
            self._pinger = self._get_redis_module().Redis.from_url(
                self.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
        return self._pinger

    # --- socketio.RedisManager ------------------------------------------------------------

    def _publish(self, data):
        try:
            if not self.connected:
                self._redis_connect()
            published = self.redis.publish(self.channel, self.json.dumps(data))
        except Exception as exc:  # the local screens have it already; the others get the re-publish
            self.connected = False
            self.failed("publish", exc)
            return None
        self.recovered()
        return published

    def _redis_listen_with_retries(self):
        while True:
            try:
                self._redis_connect()
                self.pubsub.subscribe(self.channel)
                self.subscribed = True
                self.recovered()
                yield from self.pubsub.listen()
                raise ConnectionError("the subscription ended")
            except Exception as exc:
                self.subscribed = False
                self.failed("subscribe", exc)
                time.sleep(RETRY_SECONDS)

    def recovered(self) -> None:
        """Redis answered: if it had not, the others missed this process's broadcasts (and it
        theirs), so the current state goes out again."""
        if self._down_since is None or not self.subscribed or not self._back():
            return
        if self.on_return is not None:
            try:
                self.on_return()
            except Exception:  # a failed re-publish must not stop the listener
                log.exception("re-publishing after the message queue's return failed")


def status(app) -> str:
    """'ok', 'unreachable', or 'off' (no REDIS_URL: one process, nothing to share)."""
    manager = app.extensions.get("lobby_message_queue")
    if manager is None:
        return "off"
    if not manager.subscribed:
        return "unreachable"
    try:  # the subscription may not have noticed yet: ask Redis itself, briefly
        manager.pinger().ping()
    except Exception as exc:
        manager.failed("ping", exc)
        return "unreachable"
    manager.recovered()
    return "ok"


def listen(server) -> None:
    """Subscribe now, not when the first screen connects (Socket.IO's default): a process with no
    screen of its own yet still takes part, and /healthz tells the truth from the start."""
    if isinstance(server.manager, ResilientRedisManager) and not server.manager_initialized:
        server.manager_initialized = True
        server.manager.initialize()


def manager_for(app, on_return) -> ResilientRedisManager | None:
    url = app.config["REDIS_URL"]
    if not url or not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    manager = ResilientRedisManager(url, channel=app.config["SOCKETIO_CHANNEL"], on_return=on_return)
    app.extensions["lobby_message_queue"] = manager
    return manager
