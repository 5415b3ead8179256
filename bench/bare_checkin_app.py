"""The yardstick: a bare Flask endpoint doing one SELECT and one guarded UPDATE on SQLite (synchronous=FULL).

Run by bench_checkin.py beside the real kiosk so the kiosk's figure means something on any machine.
Usage: python bench/bare_checkin_app.py DB_FILE PORT [werkzeug|kiosk]
  werkzeug: Werkzeug's own threaded server (a new connection per request);
  kiosk:    the kiosk's keep-alive server (kiosk/http_server.py), as `kiosk serve` runs.
"""
from __future__ import annotations

import sqlite3
import sys
import threading
from pathlib import Path

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

local = threading.local()


def connection(path: str) -> sqlite3.Connection:
    conn = getattr(local, "conn", None)
    if conn is None:
        conn = local.conn = sqlite3.connect(path, isolation_level=None, timeout=10)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
    return conn


def main(path: str, port: int, server: str = "werkzeug") -> None:
    setup = sqlite3.connect(path)
    setup.execute("CREATE TABLE IF NOT EXISTS guest (code TEXT PRIMARY KEY, arrived REAL)")
    setup.commit()
    setup.close()
    app = Flask(__name__)

    @app.post("/api/checkin")
    def checkin():
        code = request.get_json()["code"]
        conn = connection(path)
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute("SELECT arrived FROM guest WHERE code = ?", (code,)).fetchone()
        updated = conn.execute("UPDATE guest SET arrived = julianday('now') WHERE code = ? AND arrived IS NULL",
                               (code,)).rowcount if row else 0
        conn.execute("COMMIT")
        return jsonify({"result": "ok" if updated else ("already_checked_in" if row else "unknown")})

    if server == "kiosk":
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from kiosk.http_server import make_kiosk_server
        make_kiosk_server("127.0.0.1", port, app).serve_forever()
    else:
        make_server("127.0.0.1", port, app, threaded=True).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:4])
