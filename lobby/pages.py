"""Helpers every surface's views share: a page or its fragment, and a QR code image."""

from __future__ import annotations

import io

import qrcode
from flask import make_response, render_template, request, send_file


def page_or_fragment(page: str, fragment: str, status: int = 200, **context):
    """The whole page, or for an htmx request the fragment alone. The page includes the fragment
    (as `fragment_template`), so there is one way to render either; caches keep them apart."""
    template = fragment if request.headers.get("HX-Request") else page
    response = make_response(render_template(template, fragment_template=fragment, **context), status)
    response.vary.add("HX-Request")
    return response


def qr_png(data: str):
    """A QR code of `data` as a PNG response (confirmations, tickets, print)."""
    image = qrcode.make(data, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    return send_file(buffer, mimetype="image/png", max_age=0)
