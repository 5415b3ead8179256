"""The Socket.IO server: threading mode, a ceiling on what one client message may hold, and malformed
client packets dropped quietly."""
from __future__ import annotations

import logging

from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI
from flask import Flask
from flask_socketio import SocketIO
from socketio import packet

log = logging.getLogger(__name__)
# What a browser's Socket.IO client sends: joining and leaving a namespace, events, acknowledgements.
CLIENT_PACKETS = {packet.CONNECT, packet.DISCONNECT, packet.EVENT, packet.ACK}

# Clients send only `hello` (a few hundred bytes); anything near this size is not a screen.
MAX_MESSAGE = 64 * 1024


class _BoundedWebSocket(SimpleWebSocketWSGI):
    """Engine.IO's threading WebSocket with simple-websocket's own message ceiling: Engine.IO checks a
    message's size only after simple-websocket has buffered it whole, which could be gigabytes."""

    def __init__(self, handler, server, **kwargs):
        super().__init__(handler, server, max_message_size=MAX_MESSAGE, **kwargs)


def make_socketio(app: Flask) -> SocketIO:
    """Flask-SocketIO bound to the app: threading mode (no eventlet), pings every 10 s, small messages."""
    queue: dict = {}
    if app.config.get("KIOSK_MESSAGE_QUEUE"):
        # Every process on one database shares one channel, named after the database's own instance id:
        # another event (or a rehearsal copy) on the same Redis never hears these pushes.
        queue = {"message_queue": app.config["KIOSK_MESSAGE_QUEUE"], "channel": f"kiosk-{app.config['KIOSK_MODE']}"}
    socketio = SocketIO(app, async_mode="threading", ping_interval=10, ping_timeout=10, json=app.json,
                        logger=False, engineio_logger=False, max_http_buffer_size=MAX_MESSAGE, **queue)
    eio = socketio.server.eio
    # A copy: the driver's table is shared by every server in the process.
    eio._async = {**eio._async, "websocket": _BoundedWebSocket}
    _drop_malformed_packets(socketio.server)
    return socketio


def tell_mode_on_connect(server, mode: str) -> None:
    """Every namespace, once it accepted a client and greeted it, says which database this server runs: a page
    made by another one (before a rehearsal began or ended) reloads itself (static/js/mode.js). Installed
    last, so it wraps the greetings and the first message a client gets stays its namespace's own."""
    handle = server._handle_connect

    def connect_then_tell(eio_sid, namespace, data):
        handle(eio_sid, namespace, data)
        joined = namespace or "/"
        sid = server.manager.sid_from_eio_sid(eio_sid, joined)
        if sid is not None and server.manager.is_connected(sid, joined):
            server.emit("kiosk_mode", mode, to=sid, namespace=joined)

    server._handle_connect = connect_then_tell


def _drop_malformed_packets(server) -> None:
    """Check each client packet before python-socketio handles it: one that does not decode (garbage, JSON
    nested thousands deep) or is not a kind a browser sends is dropped with one quiet log line, where the
    library would log a traceback for every one, for anyone on the Wi-Fi to fill the log with."""
    handle = server._handle_eio_message

    def checked(eio_sid, data):
        try:
            pkt = server.packet_class(encoded_packet=data)
        except (ValueError, TypeError, IndexError, RecursionError) as exc:
            log.info("Malformed Socket.IO packet dropped (%s)", type(exc).__name__)
            return None
        if pkt.packet_type not in CLIENT_PACKETS or not _well_formed(pkt):
            log.info("Unexpected Socket.IO packet dropped (type %s)", pkt.packet_type)
            return None
        return handle(eio_sid, data)

    server.eio.on("message", checked)


def after_connect(socketio: SocketIO, namespace: str, greet) -> None:
    """Call `greet(sid)` once a client has been told it joined `namespace`.

    python-socketio acknowledges a namespace connect (packet `40/ns,{sid}`) only after the connect handler
    returns, so anything the handler emits reaches the client before the acknowledgement: the official
    client buffers it, a simpler one (a scanner's kiosk browser, a script) drops it. Greeting after the
    handler returns, on the same thread, puts the first message right behind the acknowledgement."""
    server = socketio.server
    handle = server._handle_connect

    def connect_then_greet(eio_sid, joined, data):
        handle(eio_sid, joined, data)
        if (joined or "/") != namespace:
            return
        sid = server.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is not None and server.manager.is_connected(sid, namespace):
            greet(sid)

    server._handle_connect = connect_then_greet


def _well_formed(pkt) -> bool:
    """An event is a list that starts with its name; an acknowledgement, a list of answers."""
    if pkt.packet_type == packet.EVENT:
        return isinstance(pkt.data, list) and bool(pkt.data) and isinstance(pkt.data[0], str)
    if pkt.packet_type == packet.ACK:
        return isinstance(pkt.data, list)
    return True
