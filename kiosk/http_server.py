"""The HTTP server: Werkzeug's threaded server (Flask-SocketIO's WebSocket works on it), with the kiosk's
request handler (kiosk/http_handler.py: keep-alive, time limits) and a cap on open connections.

At most MAX_CONNECTIONS connections are open, MAX_PER_CLIENT from one address (loopback, the laptop itself or
a local proxy, is not counted per address); past that a client gets a short Vietnamese 503 and a close, so
one device on the Wi-Fi cannot take every thread. Stopping the server closes the connections it holds.
"""
from __future__ import annotations

import collections
import ipaddress
import logging
import socket
import ssl
import threading
import time

from werkzeug.serving import ThreadedWSGIServer

from .http_handler import DRAIN_LIMIT, KeepAliveRequestHandler, plain_answer

__all__ = ["DRAIN_LIMIT", "KeepAliveRequestHandler", "KioskServer", "make_kiosk_server"]
log = logging.getLogger(__name__)

MAX_CONNECTIONS = 500
MAX_PER_CLIENT = 100


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class KioskServer(ThreadedWSGIServer):
    """Threaded Werkzeug server that caps and knows its open connections, so stopping it can close them."""

    def __init__(self, *args, max_connections: int = MAX_CONNECTIONS, max_per_client: int = MAX_PER_CLIENT,
                 **kwargs):
        super().__init__(*args, **kwargs)
        if isinstance(self.socket, ssl.SSLSocket):
            self.socket.do_handshake_on_connect = False  # each handler does it (KeepAliveRequestHandler)
        self.max_connections = max_connections
        self.max_per_client = max_per_client
        self._connections: set = set()
        self._connections_lock = threading.Lock()
        self._open = 0
        self._per_client: collections.Counter = collections.Counter()
        self._last_refusal_logged = 0.0

    def process_request(self, request, client_address) -> None:
        """Serve the connection in a thread, unless the server or this client already has its share."""
        client = client_address[0] if client_address else "?"
        with self._connections_lock:
            refuse = self._open >= self.max_connections or (
                self._per_client[client] >= self.max_per_client and not _is_loopback(client))
            if not refuse:
                self._open += 1
                self._per_client[client] += 1
        if refuse:
            self._refuse(request, client)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release(client)
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release(client_address[0] if client_address else "?")

    def _release(self, client: str) -> None:
        with self._connections_lock:
            self._open -= 1
            self._per_client[client] -= 1
            if self._per_client[client] <= 0:
                del self._per_client[client]

    def _refuse(self, request, client: str) -> None:
        """A short 503 (plain HTTP; a TLS client cannot read it before a handshake) and a close, at once."""
        if not isinstance(request, ssl.SSLSocket):
            try:
                request.setblocking(False)
                request.send(plain_answer(503, "Service Unavailable"))
            except OSError:
                pass
        self.shutdown_request(request)
        now = time.monotonic()
        if now - self._last_refusal_logged > 10:
            self._last_refusal_logged = now
            log.warning("Connection from %s refused: %d connections open (limit %d, %d per device)",
                        client, self._open, self.max_connections, self.max_per_client)

    def track(self, connection) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """End every open connection (kept-alive ones would otherwise wait for their idle timeout)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def server_close(self) -> None:
        self.close_connections()
        super().server_close()


def make_kiosk_server(host: str, port: int, app, ssl_context=None, **limits) -> KioskServer:
    """The server `serve` and the live tests run: threaded, keep-alive, optionally TLS, with limits."""
    return KioskServer(host, port, app, handler=KeepAliveRequestHandler, ssl_context=ssl_context, **limits)
