"""Benchmark: one phone's requests over HTTPS (KIOSK_TLS=1), Werkzeug's own server against the kiosk's.

Run: .venv/bin/python bench/bench_https.py [REQUESTS]
Werkzeug's server closes the connection after every response, so each request from a phone with the
camera scanner pays a new TLS handshake; the kiosk's server (kiosk/http_server.py) keeps it open.
Starts both servers on 127.0.0.1 with the kiosk's own local CA and certificate, sends REQUESTS
sequential GET /healthz from one requests.Session (as a browser tab would), prints median and p99.
Prints figures; asserts nothing.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk import create_app  # noqa: E402
from kiosk.http_server import make_kiosk_server  # noqa: E402
from kiosk.tls import ensure_certificates  # noqa: E402
from tests.conftest import app_config  # noqa: E402
from tests.live import free_port  # noqa: E402


def main(count: int = 300) -> None:
    app = create_app(app_config(Path(tempfile.mkdtemp(prefix="bench-https-")) / "data", KIOSK_TLS=True))
    cert, key, ca = ensure_certificates(app.config["KIOSK_DATA_DIR"], ["127.0.0.1"])
    tls = (str(cert), str(key))
    servers = (("Werkzeug's server", lambda port: make_server("127.0.0.1", port, app, threaded=True, ssl_context=tls)),
               ("kiosk's server", lambda port: make_kiosk_server("127.0.0.1", port, app, ssl_context=tls)))
    for label, make in servers:
        port = free_port()
        server = make(port)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        phone = requests.Session()
        url = f"https://127.0.0.1:{port}/healthz"
        phone.get(url, verify=str(ca))
        times = []
        for _ in range(count):
            started = time.perf_counter()
            phone.get(url, verify=str(ca)).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        print(f"{label:<18} {count} HTTPS requests, one client: median {statistics.median(times):6.2f} ms, "
              f"p99 {times[int(count * 0.99) - 1]:6.2f} ms")
        server.shutdown()
        server.server_close()
    app.extensions["kiosk.db"].dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
