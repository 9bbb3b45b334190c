"""Links handed to visitors (a ticket's page, an appointment's check-in, their QR codes): on the
public address when the deployment names one (LOBBY_PUBLIC_URL), else on the address the request
came to — behind a reverse proxy, the proxy's, once LOBBY_PROXY_HOPS trusts its headers."""

from __future__ import annotations

from flask import current_app, has_request_context, request, url_for


def external_url(endpoint: str, **values) -> str:
    base = current_app.config.get("PUBLIC_URL")
    if not base:
        return url_for(endpoint, _external=True, **values)
    path = url_for(endpoint, **values)
    if has_request_context() and request.script_root and path.startswith(request.script_root):
        path = path[len(request.script_root):]  # the public address carries its own prefix
    return base + path
