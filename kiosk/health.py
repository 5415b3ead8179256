"""Whether the server can do its work now: the database takes a write and the data folder takes a file."""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from flask import Flask

from . import errors
from .storage import utcnow
from .storage.migrations import write_probe

log = logging.getLogger(__name__)
# /healthz needs no login: one real write a second at most, whatever the rate of asking (a flood of
# health checks must not queue in front of the gate's scans).
PROBE_EVERY = 1.0
_lock = threading.Lock()


def check(app: Flask) -> dict:
    """{"ok": True}, or {"ok": False, "error": "disk_full"|"not_writable", "message"}; cached a second."""
    with _lock:
        cached = app.extensions.get("kiosk.health")
        if cached and cached[0] > time.monotonic():
            return cached[1]
        answer = _probe(app)
        app.extensions["kiosk.health"] = (time.monotonic() + PROBE_EVERY, answer)
        return answer


def _probe(app: Flask) -> dict:
    try:
        write_probe(app.extensions["kiosk.db"], utcnow())
        probe = Path(app.config["KIOSK_DATA_DIR"]) / ".healthz"
        with open(probe, "wb") as handle:
            handle.write(b"ok")
            handle.flush()
            os.fsync(handle.fileno())
        probe.unlink()
    except Exception as exc:  # noqa: BLE001 - every failure is an unhealthy answer, never a 500
        log.error("Health check: cannot write: %s", exc)
        if errors.is_disk_full(exc):
            return {"ok": False, "error": "disk_full", "message": errors.DISK_FULL}
        return {"ok": False, "error": "not_writable", "message": "Máy chủ không ghi được dữ liệu (chi tiết trong nhật ký)."}
    return {"ok": True}
