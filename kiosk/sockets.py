"""The Socket.IO server: threading mode, and a ceiling on what one client message may hold."""
from __future__ import annotations

from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI
from flask import Flask
from flask_socketio import SocketIO

# Clients send only `hello` (a few hundred bytes); anything near this size is not a screen.
MAX_MESSAGE = 64 * 1024


class _BoundedWebSocket(SimpleWebSocketWSGI):
    """Engine.IO's threading WebSocket with simple-websocket's own message ceiling: Engine.IO checks a
    message's size only after simple-websocket has buffered it whole, which could be gigabytes."""

    def __init__(self, handler, server, **kwargs):
        super().__init__(handler, server, max_message_size=MAX_MESSAGE, **kwargs)


def make_socketio(app: Flask) -> SocketIO:
    """Flask-SocketIO bound to the app: threading mode (no eventlet), pings every 10 s, small messages."""
    socketio = SocketIO(app, async_mode="threading", ping_interval=10, ping_timeout=10, json=app.json,
                        logger=False, engineio_logger=False, max_http_buffer_size=MAX_MESSAGE)
    eio = socketio.server.eio
    # A copy: the driver's table is shared by every server in the process.
    eio._async = {**eio._async, "websocket": _BoundedWebSocket}
    return socketio
