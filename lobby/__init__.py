"""Lobby: reception, triage and the live queue of a medical-aesthetics clinic."""

from __future__ import annotations

import os

from flask import Flask, jsonify, redirect, request, session, url_for
from sqlalchemy import text

from . import message_queue
from .config import load_config
from .domain.settings import LANGUAGES
from .extensions import (
    babel,
    compress,
    csrf,
    db,
    htmx,
    limiter,
    login_manager,
    migrate,
    socketio,
)
from .redirects import safe_next


def select_locale() -> str:
    """The visitor's choice (kept in the session), else the browser's, else Chinese."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"]) if request else None
    if best and best.startswith("en"):
        return "en"
    return "zh_CN"


def _register_template_helpers(app: Flask) -> None:
    from .domain.settings import clinic_zone
    from .messages import kind_label, status_label
    from .presenters import locale_code, localized, mask_name, readable_phone

    def clinic_time(moment) -> str:
        return moment.astimezone(clinic_zone(db.session)).strftime("%H:%M") if moment else ""

    def clinic_datetime(moment) -> str:
        return moment.astimezone(clinic_zone(db.session)).strftime("%Y-%m-%d %H:%M") if moment else ""

    def clinic_date(moment) -> str:
        return moment.astimezone(clinic_zone(db.session)).date().isoformat() if moment else ""

    app.jinja_env.filters.update(mask_name=mask_name, localized=localized, clinic_time=clinic_time,
                                 clinic_datetime=clinic_datetime, clinic_date=clinic_date,
                                 kind_label=kind_label, status_label=status_label,
                                 readable_phone=readable_phone)
    app.jinja_env.globals.update(locale_code=locale_code)


def _close_past_days_by_itself(app: Flask) -> None:
    """At the first request of a new clinic day, close the days before it if nobody did
    (domain/dayclose.py). Within a day already looked at, a request costs one comparison, no query."""
    import logging

    from sqlalchemy.exc import SQLAlchemyError

    from .database import unit_of_work
    from .domain import clock, dayclose
    from .domain.errors import RequestExpired
    from .domain.settings import clinic_day, clinic_zone

    checked = {"from": None, "until": None}

    @app.before_request
    def close_past_days():
        now = clock.utcnow()
        if request.endpoint in ("healthz", "static") or (
                checked["from"] is not None and checked["from"] <= now < checked["until"]):
            return
        try:
            with unit_of_work(db.session):
                dayclose.close_past_days(db.session, now=now, actor=dayclose.SYSTEM)
        except RequestExpired:
            return  # the request itself will be refused in the same way
        except SQLAlchemyError:
            # The database is unwell: the request itself will say so; look again next time.
            db.session.rollback()
            logging.getLogger("lobby").warning("past days not closed: the database did not answer")
            return
        checked["from"], checked["until"] = clock.day_bounds(clinic_day(db.session, now), clinic_zone(db.session))


class Lobby(Flask):
    def dispatch_request(self):
        # After every before-request hook (some write: a day closed, a session ended) and just
        # before the view: only the view's own writes claim the request's idempotency key.
        from . import idempotency

        idempotency.arm()
        return super().dispatch_request()


def create_app(test_config: dict | None = None) -> Flask:
    """The app factory."""
    app = Lobby(
        __name__,
        instance_path=os.environ.get("LOBBY_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.update(load_config(app.instance_path))
    if test_config:
        app.config.update(test_config)

    db.init_app(app)
    from .database import stamp_arrival

    app.wsgi_app = stamp_arrival(app.wsgi_app)
    if app.config.get("PROXY_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_HOPS"]  # the client's address, scheme and host as the proxy saw them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)
    with app.app_context():
        from .database import configure_engine

        configure_engine(db.engine, timezone=app.config["LOBBY_TIMEZONE"])
    migrate.init_app(app, db, directory=os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "migrations")),
                     render_as_batch=True)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=os.path.join(os.path.dirname(__file__), "translations"))
    from . import security

    security.init_app(app)  # first: its checks run before CSRFProtect reads the body
    csrf.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    # Redis down: the limits fall back to each process's memory rather than refusing everyone.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)
    app.config.setdefault("COMPRESS_MIMETYPES", ["text/html", "text/css", "text/javascript", "application/javascript",
                                                 "application/json", "text/csv", "image/svg+xml"])
    compress.init_app(app)

    @app.after_request
    def _read_static_files_for_compression(response):
        # Runs before Flask-Compress (registered after it): a static file goes out compressed too, and
        # its file is closed here (Flask-Compress reads it but leaves it open).
        if (response.direct_passthrough and response.status_code == 200
                and response.mimetype in app.config["COMPRESS_MIMETYPES"]):
            source = response.response
            response.direct_passthrough = False
            try:
                response.set_data(b"".join(source))
            finally:
                getattr(source, "close", lambda: None)()
        return response
    from . import idempotency

    idempotency.init_app(app)  # after compression: it keeps answers as the views made them
    htmx.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "admin.login"

    from . import models  # noqa: F401  (every table registered before anything queries)

    @login_manager.user_loader
    def load_staff(token: str):
        """The staff member whose server-side session this cookie's token opens (None once ended)."""
        from .domain.staff_sessions import staff_for

        found = staff_for(db.session, token)
        if found is None:
            return None
        staff, row = found
        staff.session_token, staff.session_id = token, row.id
        return staff

    from admin import bp as admin_bp
    from display import bp as display_bp
    from kiosk import bp as kiosk_bp
    from ticket import bp as ticket_bp

    from .api import bp as api_bp

    app.register_blueprint(ticket_bp)
    app.register_blueprint(kiosk_bp)
    app.register_blueprint(display_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(api_bp)

    from .cli import register_cli

    register_cli(app)
    _register_template_helpers(app)

    @app.get("/healthz")
    def healthz():
        """Each dependency: without the database nothing works (503, take the process out); without
        the message queue the process still serves, its screens miss the others' changes (degraded)."""
        queue = message_queue.status(app)
        try:
            db.session.execute(text("SELECT 1"))
        except Exception:  # any database failure means "not ready"
            db.session.rollback()
            return jsonify({"status": "error", "database": "unreachable", "message_queue": queue}), 503
        status = "degraded" if queue == "unreachable" else "ok"
        return jsonify({"status": status, "database": "ok", "message_queue": queue, "version": "0.1.0"})

    from .domain.errors import RequestExpired

    @app.errorhandler(RequestExpired)
    def _expired(err: RequestExpired):
        # (The API answers in JSON through its own handler; the kiosk and the desk catch it as any
        # domain error where they save, so this is the last resort.)
        from .messages import message_for

        return message_for(err.code), 503, {"Retry-After": "1"}

    @app.get("/lang/<code>")
    def set_language(code: str):
        if code in LANGUAGES:
            session["lang"] = code
        return redirect(safe_next(request.args.get("next"), url_for("kiosk.start")))

    _close_past_days_by_itself(app)

    from . import queue_state  # noqa: F401  (its listeners raise the queue version on each change)
    from .realtime import realtime

    realtime.init_app(app)
    # Several processes share their broadcasts through Redis, and live through its outages.
    manager = message_queue.manager_for(app, on_return=realtime.republish)
    socketio.init_app(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        **({"client_manager": manager} if manager else
           {"message_queue": app.config["REDIS_URL"], "channel": app.config["SOCKETIO_CHANNEL"]}),
        # None: same origin only. A configured list never contains "*" (config refuses it).
        cors_allowed_origins=app.config["LOBBY_CORS_ORIGINS"] or None,
    )
    from . import webhook_sender

    webhook_sender.init_app(app)  # after Socket.IO: the sender runs as a task of its async mode
    return app
