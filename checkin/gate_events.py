"""The /gate Socket.IO namespace: gate devices report their state, and receive their copy's changes and
the conflicts; the dashboard listens here too. Logged-in gate (or admin) pages only."""
from __future__ import annotations

import threading

from flask import Flask, current_app, request, session

from display import push
from display.events import _Guarded
from kiosk import auth
from kiosk.login_sockets import LoginSockets
from kiosk.storage import utcnow
from kiosk.vietnamese import format_time

from . import gate_copy
from .gate_devices import Registry, parse_status

GATE_NAMESPACE = "/gate"
COPY_DELAY = 0.2     # changes within this long go out as one push
GATES_DELAY = 0.5


class GateNamespace(_Guarded):
    """Gate pages and the dashboard; every event re-checks the login, and so does every push (`_emit`)."""

    @auth.socket_requires_role("gate")
    def on_connect(self, auth_data=None):
        current_app.extensions["checkin.gate_sockets"].joined(request.sid, session.get("sid"))
        return None

    @auth.socket_requires_role("gate")
    def on_hello(self, data=None):
        """{"key", "gate", "pending"} → {"ok", "id", "server_time"}: the device is listed online."""
        app = current_app._get_current_object()
        parsed = parse_status(data)
        if parsed is None:
            return {"ok": False}
        device_id = app.extensions["checkin.gate_devices"].hello(request.sid, data.get("key"), *parsed, utcnow())
        if device_id is None:
            return {"ok": False}
        schedule_gates_push(app)
        return {"ok": True, "id": device_id, "server_time": gate_copy.millis_now()}

    @auth.socket_requires_role("gate")
    def on_status(self, data=None):
        """{"gate", "pending"}: the device's queue grew or shrank."""
        app = current_app._get_current_object()
        parsed = parse_status(data)
        if parsed is not None and app.extensions["checkin.gate_devices"].status(request.sid, *parsed):
            schedule_gates_push(app)
        return {"ok": parsed is not None}

    def on_disconnect(self, reason=None):
        app = current_app._get_current_object()
        app.extensions["checkin.gate_sockets"].left(request.sid)
        if app.extensions["checkin.gate_devices"].gone(request.sid, utcnow()):
            schedule_gates_push(app)


def _emit(app: Flask, event: str, data) -> None:
    """Send to every /gate socket whose login still holds (the others are disconnected)."""
    app.extensions["checkin.gate_sockets"].emit(event, data)


def gate_list(app: Flask) -> list[dict]:
    """The devices for the dashboard, with local-time labels."""
    zone = gate_copy.event_zone(app.extensions["kiosk.db"])
    rows = app.extensions["checkin.gate_devices"].overview(utcnow())
    for row in rows:
        since = row["since"]
        row["since"], row["since_label"] = since.isoformat(), format_time(since.astimezone(zone))
    return rows


def push_gates(app: Flask) -> None:
    _emit(app, "gates", gate_list(app))


def schedule_gates_push(app: Flask) -> None:
    push.coalesced(app, "gate.devices", push_gates, GATES_DELAY)


def push_copy(app: Flask) -> None:
    """Send every gate what changed in its copy since the last push (nothing if nothing did)."""
    with app.extensions["checkin.copy_lock"]:
        since = app.extensions["checkin.copy_version"]
        delta = gate_copy.delta_for_push(app.extensions["kiosk.db"], since)
        if delta is None:
            return
        _emit(app, "copy", delta)
        app.extensions["checkin.copy_version"] = delta["version"]


def schedule_copy_push(app: Flask) -> None:
    """After anything that may have changed an invitation or an admission (coalesced)."""
    push.coalesced(app, "gate.copy", push_copy, COPY_DELAY)


def push_conflict(app: Flask, conflict: dict) -> None:
    """Every gate and the dashboard hear of a conflict at once."""
    _emit(app, "conflict", conflict)


def register(app: Flask, socketio) -> None:
    """The namespace, the device list, and a version check after every successful change request."""
    app.extensions["checkin.gate_devices"] = Registry()
    app.extensions["checkin.gate_sockets"] = LoginSockets(app, GATE_NAMESPACE, "gate")
    app.extensions["checkin.copy_lock"] = threading.Lock()
    app.extensions["checkin.whole_copy_lock"] = threading.Lock()
    app.extensions["checkin.copy_version"] = gate_copy.current_version(app.extensions["kiosk.db"])
    socketio.on_namespace(GateNamespace(GATE_NAMESPACE))

    @app.after_request
    def _copy_may_have_changed(response):
        # Edits, imports, reissued cards, undos: every change arrives as a POST; the push itself checks the
        # version, so a POST that changed nothing (a donation) costs one indexed read.
        if request.method == "POST" and response.status_code < 400:
            schedule_copy_push(app)
        return response
