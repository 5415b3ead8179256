"""A real kiosk server on a free port in a background thread, for live Socket.IO and browser tests."""
from __future__ import annotations

import socket
import threading

from kiosk import create_app
from kiosk.http_server import make_kiosk_server
from kiosk.tls import ensure_certificates


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """Runs create_app(config) under the kiosk's HTTP server, as `serve` does; stop() ends it."""

    def __init__(self, config: dict, port: int | None = None):
        self.app = create_app(config)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = make_kiosk_server("127.0.0.1", self.port, self.app)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "LiveServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        # Abort open Socket.IO connections without waiting for their clients (a closed browser never
        # answers), so their threads do not keep the old app alive.
        eio = self.app.extensions["kiosk.socketio"].server.eio
        for socket in list(eio.sockets.values()):
            socket.close(wait=False, abort=True)
        self._server.server_close()
        self._thread.join(timeout=5)
        self.app.extensions["kiosk.db"].dispose()


class HttpsServer:
    """The kiosk over HTTPS (KIOSK_TLS) on a free port with its own local CA, as `serve` runs it for phones."""

    def __init__(self, config: dict):
        self.port = free_port()
        self.app = create_app({**config, "KIOSK_TLS": True, "PORT": self.port})
        cert, key, self.ca = ensure_certificates(self.app.config["KIOSK_DATA_DIR"], ["127.0.0.1"])
        self.cert = cert
        self.url = f"https://127.0.0.1:{self.port}"
        self.server = make_kiosk_server("127.0.0.1", self.port, self.app, ssl_context=(str(cert), str(key)))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.app.extensions["kiosk.db"].dispose()
