"""Queue board views."""

from flask import Response
from flask_babel import force_locale
from htmx_flask import request

from lobby import queue_state
from lobby.domain.settings import clinic_zone
from lobby.extensions import db
from lobby.pages import page_or_fragment

from . import bp
from .chime import chime_mp3, chime_wav
from .publisher import LANGUAGES, resolve_line


@bp.get("/", endpoint="board")
def board():
    """The waiting-room TV. ?line=B (code or prefix) shows one line; ?lang=en an English board.

    An htmx request gets the live part alone, the fragment Socket.IO broadcasts.
    """
    line = resolve_line(db.session, request.args.get("line"))
    lang = request.args.get("lang") if request.args.get("lang") in LANGUAGES else "zh_CN"
    state = queue_state.current()
    # The TV speaks the board's language, whatever its browser says.
    with force_locale(lang):
        return page_or_fragment("display/board.html", "display/_board.html",
                                board=state.board.for_line(line.code if line else None), version=state.version,
                                settings=state.settings, line=line, lang=lang, timezone=str(clinic_zone(db.session)))


@bp.get("/chime.mp3", endpoint="chime")
def chime():
    return Response(chime_mp3(), mimetype="audio/mpeg", headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/chime.wav", endpoint="chime_wav")
def chime_uncompressed():
    """The same chime, uncompressed (signage players that play no MP3)."""
    return Response(chime_wav(), mimetype="audio/wav", headers={"Cache-Control": "public, max-age=86400"})
