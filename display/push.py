"""The one helper that reads the show state and pushes it to screens."""
from __future__ import annotations

from flask import Flask

from kiosk.storage import events as event_queries
from kiosk.storage import show as show_queries
from kiosk.storage import utcnow

from . import programme
from .state import snapshot

NAMESPACE = "/display"


def current_state(app: Flask) -> dict:
    """The whole show state as screens and GET /api/agenda see it."""
    with app.extensions["kiosk.db"].read() as session:
        event = event_queries.current_event(session)
        items = programme.describe(event_queries.agenda_items(session, event.id), event.timezone)
        show = show_queries.show_state(session, event.id)
        return snapshot(event, show, items, utcnow())


def broadcast_state(app: Flask) -> None:
    """Send the state to every connected screen."""
    app.extensions["kiosk.socketio"].emit("state", current_state(app), namespace=NAMESPACE)
