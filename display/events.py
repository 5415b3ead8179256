"""Socket.IO handlers: the read-only /display namespace for screens, and /mc for the MC's screen list.

Nothing here changes the show: control goes through authenticated HTTP (display/views.py).
"""
from __future__ import annotations

from flask import current_app, request, session
from flask_socketio import Namespace

from kiosk import auth
from kiosk.sockets import after_connect
from kiosk.storage import utcnow

from . import push, screens
from .push import MC_NAMESPACE, NAMESPACE

# Socket.IO delivers a client packet named "connect" or "disconnect" to the same handlers as the real
# events; a real one arrives while the socket is not (or no longer) fully connected.
LIFECYCLE = ("connect", "disconnect")


class _Guarded(Namespace):
    """A namespace that ignores client-sent events that impersonate the connection lifecycle."""

    def trigger_event(self, event, *args):
        if event in LIFECYCLE and args and self.socketio.server.manager.is_connected(args[0], self.namespace):
            return None
        return super().trigger_event(event, *args)


class DisplayNamespace(_Guarded):
    """Screens connect here, unauthenticated; they receive state and can change nothing."""

    def on_connect(self, auth=None):
        """Anyone may watch; the first state follows the connect's acknowledgement (see `greet_screen`)."""
        return None

    def on_hello(self, data=None):
        """A screen says who it is: {"key": its secret from localStorage, "name"?: its own name, "view"};
        the answer tells it its public id (the one the MC's settings in the state are keyed by)."""
        parsed = screens.parse_hello(data)
        if parsed is None:
            return {"ok": False}
        app = current_app._get_current_object()
        screen_id, own_name, view = parsed
        if app.extensions["display.screens"].hello(request.sid, screen_id, own_name, view, utcnow(),
                                                   request.remote_addr):
            push.schedule_screens_push(app)
        return {"ok": True, "id": screen_id}

    def on_disconnect(self, reason=None):
        app = current_app._get_current_object()
        if app.extensions["display.screens"].gone(request.sid):
            push.schedule_screens_push(app)


class McNamespace(_Guarded):
    """MC pages connect here with their login; they receive the list of screens (each push re-checks it)."""

    @auth.socket_requires_role("mc")
    def on_connect(self, auth_data=None):
        app = current_app._get_current_object()
        app.extensions["display.mc_sockets"].joined(request.sid, session.get("sid"))
        return None   # the list of screens follows the acknowledgement (`greet_mc`)

    def on_disconnect(self, reason=None):
        current_app.extensions["display.mc_sockets"].left(request.sid)


def greet_screen(app, socketio, sid: str) -> None:
    """A screen that just joined gets the whole state at once (no replay of missed events); under the emit
    lock, so a broadcast racing this connect can never arrive after an older snapshot."""
    with app.app_context(), push.emit_lock(app):
        socketio.emit("state", push.current_state(app), to=sid, namespace=NAMESPACE)


def greet_mc(app, socketio, sid: str) -> None:
    """An MC page that was let in gets the list of screens."""
    with app.app_context():
        socketio.emit("screens", push.screen_list(app), to=sid, namespace=MC_NAMESPACE)


def register(app, socketio) -> None:
    """Attach the /display and /mc namespaces to the app's Socket.IO server."""
    socketio.on_namespace(DisplayNamespace(NAMESPACE))
    socketio.on_namespace(McNamespace(MC_NAMESPACE))
    after_connect(socketio, NAMESPACE, lambda sid: greet_screen(app, socketio, sid))
    after_connect(socketio, MC_NAMESPACE, lambda sid: greet_mc(app, socketio, sid))
