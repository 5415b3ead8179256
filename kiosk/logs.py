"""Logging to the console and to a rotating file in the data folder."""
from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

_MARK = "_kiosk_handler"


class _WebSocketCloseNoise(logging.Filter):
    """Drop Werkzeug's "Bad request syntax" lines: they are the bytes of a closed WebSocket, not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "Bad request syntax" not in message and "Bad request version" not in message


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """The rotating log, each file owner-only (it names devices, addresses and who did what)."""

    def _open(self):
        stream = super()._open()
        os.chmod(self.baseFilename, 0o600)
        return stream


def configure_logging(data_dir: str | Path, level: int = logging.INFO) -> None:
    """Attach the kiosk's handlers once (create_app may run many times in tests)."""
    root = logging.getLogger()
    root.setLevel(level)
    log_file = str(Path(data_dir) / "logs" / "kiosk.log")
    for handler in list(root.handlers):
        if getattr(handler, _MARK, None) is not None and getattr(handler, _MARK) != log_file:
            root.removeHandler(handler)
            handler.close()
    if any(getattr(h, _MARK, None) == log_file for h in root.handlers):
        return
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    file_handler = _PrivateRotatingFile(log_file, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    console = logging.StreamHandler()
    for handler in (file_handler, console):
        handler.setFormatter(fmt)
        setattr(handler, _MARK, log_file)
        root.addHandler(handler)
    # One line per HTTP request would drown the console at the gate's scan rate.
    werkzeug_log = logging.getLogger("werkzeug")
    werkzeug_log.setLevel(logging.ERROR)
    if not any(isinstance(f, _WebSocketCloseNoise) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(_WebSocketCloseNoise())
    logging.getLogger("engineio.server").setLevel(logging.WARNING)
    logging.getLogger("socketio.server").setLevel(logging.WARNING)
