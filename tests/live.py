"""A real kiosk server on a free port in a background thread, for live Socket.IO and browser tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

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


class KioskProcess:
    """`python -m kiosk serve` in a child process, as the laptop runs it; kill() is a power cut (SIGKILL)."""

    def __init__(self, env: dict, log_path: Path):
        root = Path(__file__).resolve().parent.parent
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")},
                    "PYTHONPATH": str(root), "KIOSK_HOST": "127.0.0.1", **env}
        self.env.setdefault("PORT", str(free_port()))
        self.url = f"http://127.0.0.1:{self.env['PORT']}"
        self.root, self.log_path = root, log_path
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 60.0) -> "KioskProcess":
        """Start it and return once /healthz answers."""
        log = open(self.log_path, "a", encoding="utf-8")
        self.process = subprocess.Popen([sys.executable, "-m", "kiosk", "serve"], stdout=log, stderr=subprocess.STDOUT,
                                        env=self.env, cwd=self.root)
        log.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kiosk serve exited with {self.process.returncode}: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"kiosk serve did not answer within {timeout:.0f} s")

    def kill(self) -> None:
        """SIGKILL: nothing is flushed or closed, as when the laptop's power goes."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not end."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
