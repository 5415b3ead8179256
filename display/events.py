"""Socket.IO handlers of the read-only /display namespace."""
from __future__ import annotations

from flask import current_app
from flask_socketio import Namespace, emit

from .push import NAMESPACE, current_state


class DisplayNamespace(Namespace):
    """Screens connect here, unauthenticated; they receive state and can change nothing."""

    def on_connect(self, auth=None):
        # A late or reconnecting screen gets the whole state at once: no replay of missed events.
        emit("state", current_state(current_app._get_current_object()))


def register(socketio) -> None:
    """Attach the /display namespace to the app's Socket.IO server."""
    socketio.on_namespace(DisplayNamespace(NAMESPACE))
