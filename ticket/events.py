"""The /ticket namespace: a phone joins the room of the ticket its signed token names, and nothing else."""

from flask_socketio import Namespace, emit, join_room

from lobby.domain.errors import NotFound
from lobby.extensions import socketio
from lobby.tokens import TokenError

from .routes import visit_state
from .state import NAMESPACE, ticket_room


class TicketNamespace(Namespace):
    def on_connect(self, auth=None):
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str):
            raise ConnectionRefusedError("ticket token required")
        try:
            visit, state = visit_state(token)
        except (TokenError, NotFound):
            raise ConnectionRefusedError("invalid ticket") from None
        join_room(ticket_room(visit.public_id))
        emit("ticket", state)


socketio.on_namespace(TicketNamespace(NAMESPACE))
