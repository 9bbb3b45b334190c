"""Security headers on every response, set in one place (not per view).

- Content-Security-Policy: scripts, styles, images, sounds and sockets from this
  site only; no inline script or style anywhere in the pages (behaviour hangs on
  data- attributes in static/js), so an injected <script> or onclick never runs.
- frame-ancestors 'none': no page may be framed (click-jacking), except the queue
  board, which a clinic's signage system may frame (LOBBY_BOARD_FRAME_ANCESTORS).
- Referrer-Policy: same-origin, since ticket and booking tokens travel in URLs: they never
  leave the site, while its own forms still send the Referer that Flask-WTF's CSRF check
  demands over HTTPS (with no-referrer, every form behind the TLS proxy was refused).
- X-Content-Type-Options: nosniff; HSTS when LOBBY_ENV=production.
- Pages with personal data (desk, kiosk, a visitor's ticket, the API) are never
  cached: Cache-Control: no-store.

And one check on the way in: a NUL character in a path, a query, a form or a JSON
body is refused with 400. No person types one, and PostgreSQL cannot store or
even compare text that holds one (it would fail the query: a 500).
"""

from __future__ import annotations

from flask import Flask, abort, current_app, request

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "media-src": "'self'",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
}
NOT_CACHED = frozenset({"admin", "kiosk", "ticket", "api"})
HSTS = "max-age=31536000; includeSubDomains"


def _policy(frame_ancestors: str) -> str:
    return "; ".join(f"{name} {value}" for name, value in {**POLICY, "frame-ancestors": frame_ancestors}.items())


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(v) for v in value)
    return False


def body_limit(max_bytes: int):
    """A view that takes less than the site's MAX_CONTENT_LENGTH (a camera frame): larger is 413,
    refused before the body is parsed (by anyone: CSRFProtect reads the form first)."""
    def mark(view):
        view.max_body_bytes = max_bytes
        return view

    return mark


def limit_body() -> None:
    view = current_app.view_functions.get(request.endpoint)
    limit = getattr(view, "max_body_bytes", None)
    if limit is not None:
        request.max_content_length = limit


def refuse_nul_bytes() -> None:
    """Before every view: 400 for a NUL anywhere in what the request names or sends as text
    (files are their views' to read: a camera frame, a CSV file)."""
    values = [request.path, *request.args.listvalues()]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values.extend(request.form.listvalues())
    elif request.is_json:
        values.append(request.get_json(silent=True))
    if _holds_nul(values):
        abort(400)


def init_app(app: Flask) -> None:
    """Before anything else reads the request (create_app calls this before CSRFProtect's init)."""
    app.before_request(limit_body)
    app.before_request(refuse_nul_bytes)

    board_framers = " ".join(app.config.get("BOARD_FRAME_ANCESTORS") or []) or "'none'"
    page_policy, board_policy = _policy("'none'"), _policy(board_framers)
    production = app.config["LOBBY_ENV"] == "production"

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        board = request.blueprint == "display"
        headers.setdefault("Content-Security-Policy", board_policy if board else page_policy)
        if not board:
            headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        if production:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if request.blueprint in NOT_CACHED and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        return response
