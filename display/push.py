"""The one helper that reads the show state and pushes it to screens.

Other features add their part of the state (the gate's roster of dignitaries present, the donation
total) with `register_state_part`, and call `schedule_broadcast` when their data changes; bursts of
changes (many check-ins in a second) are coalesced into one push.
"""
from __future__ import annotations

import threading
from typing import Callable

from flask import Flask

from kiosk.storage import events as event_queries
from kiosk.storage import show as show_queries
from kiosk.storage import utcnow

from . import programme
from .state import snapshot

NAMESPACE = "/display"
COALESCE_SECONDS = 0.25

StatePart = Callable[[object, object], object]  # (db session, event) -> JSON-ready value


def register_state_part(app: Flask, name: str, provider: StatePart) -> None:
    """Add `state[name] = provider(session, event)` to every state the screens receive."""
    app.extensions.setdefault("kiosk.state_parts", {})[name] = provider


def current_state(app: Flask) -> dict:
    """The whole show state as screens and GET /api/agenda see it."""
    with app.extensions["kiosk.db"].read() as session:
        event = event_queries.current_event(session)
        items = programme.describe(event_queries.agenda_items(session, event.id), event.timezone)
        show = show_queries.show_state(session, event.id)
        state = snapshot(event, show, items, utcnow())
        for name, provider in app.extensions.get("kiosk.state_parts", {}).items():
            state[name] = provider(session, event)
        return state


def broadcast_state(app: Flask) -> None:
    """Send the state to every connected screen now."""
    app.extensions["kiosk.socketio"].emit("state", current_state(app), namespace=NAMESPACE)


def schedule_broadcast(app: Flask) -> None:
    """Send the state soon; calls within COALESCE_SECONDS of each other cause one push."""
    lock = app.extensions.setdefault("kiosk.broadcast_lock", threading.Lock())
    with lock:
        if app.extensions.get("kiosk.broadcast_pending"):
            return
        app.extensions["kiosk.broadcast_pending"] = True

    def send():
        with lock:
            app.extensions["kiosk.broadcast_pending"] = False
        broadcast_state(app)

    timer = threading.Timer(COALESCE_SECONDS, send)
    timer.daemon = True
    timer.start()
