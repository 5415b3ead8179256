"""The one helper that reads the show state and pushes it to screens (and the screen list to MCs).

Other features add their part of the state (the gate's roster of dignitaries present, the donation
total) with `register_state_part`, and call `schedule_broadcast` when their data changes; bursts of
changes (many check-ins in a second) are coalesced into one push.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from flask import Flask

from kiosk.storage import events as event_queries
from kiosk.storage import show as show_queries
from kiosk.storage import utcnow

from . import programme, screens, show as show_model, timing
from .state import snapshot

# Pushes that are slow to build (thousands of arrivals to count) are spaced out further, so building them
# never takes more than about this share of the server's time from the scans and actions they report: one
# budget for all the deferred pushes together (counts, roster, the gates' copies), not one for each. But
# never more than MAX_SPACING seconds apart (one slow build, a pause, must not freeze the counts for long).
BUSY_SHARE = 0.1
MAX_SPACING = 5.0

NAMESPACE = "/display"
MC_NAMESPACE = "/mc"
COALESCE_SECONDS = 0.25

StatePart = Callable[[object, object], object]  # (db session, event) -> JSON-ready value
log = logging.getLogger(__name__)


def register_state_part(app: Flask, name: str, provider: StatePart) -> None:
    """Add `state[name] = provider(session, event)` to every state the screens receive."""
    app.extensions.setdefault("kiosk.state_parts", {})[name] = provider


def load(session) -> tuple[object, list, show_model.Show]:
    """The event, its programme rows and its Show, read in the caller's session."""
    event = event_queries.current_event(session)
    agenda = event_queries.agenda_items(session, event.id)
    record = show_queries.read_show(session, event.id)
    return event, agenda, show_model.from_record(record, [item.id for item in agenda])


def state_from(app: Flask, session, event, agenda, show: show_model.Show) -> dict:
    """The whole state for an already loaded event, programme and Show."""
    runs = {item_id: run.started_at for item_id, run in show.runs.items()}
    items = programme.describe(agenda, event.timezone, runs)
    state = snapshot(event, show, items, utcnow())
    for name, provider in app.extensions.get("kiosk.state_parts", {}).items():
        try:
            state[name] = provider(session, event)
        except Exception:  # noqa: BLE001
            # Another feature's failure must never take the programme off the screens: leave its part out.
            log.exception("State part %r failed; sending the state without it", name)
    return state


def current_state(app: Flask) -> dict:
    """The whole show state as screens and GET /api/agenda see it."""
    with app.extensions["kiosk.db"].read() as session:
        event, agenda, show = load(session)
        return state_from(app, session, event, agenda, show)


def current_timing(app: Flask) -> dict:
    """Drift, elapsed time and the projected end right now (the MC page computes the same every second)."""
    now = utcnow()
    with app.extensions["kiosk.db"].read() as session:
        event, agenda, show = load(session)
    slots = [timing.Slot(item.planned_start, item.planned_end) for item in agenda]
    summary = timing.summary(timing.project(slots, show, now, event.timezone), event.timezone)
    return {"rev": show.rev, "server_time": int(now.timestamp() * 1000), **summary}


def emit_lock(app: Flask):
    """Held while a state is read and sent, so screens receive states in the order they were read."""
    return app.extensions["display.emit_lock"]


def broadcast_state(app: Flask) -> dict:
    """Send the state to every connected screen now; return what was sent."""
    with emit_lock(app):
        state = current_state(app)
        app.extensions["kiosk.socketio"].emit("state", state, namespace=NAMESPACE)
    return state


def schedule_broadcast(app: Flask) -> None:
    """Send the state soon; calls within COALESCE_SECONDS of each other cause one push."""
    coalesced(app, "kiosk.broadcast", broadcast_state)


def screen_list(app: Flask) -> list[dict]:
    """The MC's list of screens: connected ones and the ones the MC named."""
    with app.extensions["kiosk.db"].read() as session:
        _event, _agenda, show = load(session)
    return screens.overview(app.extensions["display.screens"].connected(), show.screens)


def push_screens(app: Flask) -> None:
    """Send the screen list to every MC page whose login still holds; a page logged out (or whose PIN was
    reset) is dropped instead: the session a socket copied at connect is never trusted for later pushes."""
    app.extensions["display.mc_sockets"].emit("screens", screen_list(app))


def schedule_screens_push(app: Flask) -> None:
    """Send the screen list to MC pages soon (a hundred screens reconnecting make one push)."""
    coalesced(app, "display.screens_push", push_screens)


def coalesced(app: Flask, key: str, send: Callable[[Flask], object], delay: float = COALESCE_SECONDS) -> None:
    """Call `send(app)` once, `delay` seconds from now, however often this is called meanwhile (per key);
    sends that took long push the next ones further out (see BUSY_SHARE)."""
    lock = app.extensions.setdefault(key + "_lock", threading.Lock())
    costs = app.extensions.setdefault("display.push_costs", {})   # key -> (seconds its last send took, when)
    with lock:
        if app.extensions.get(key + "_pending"):
            return
        app.extensions[key + "_pending"] = True

    def run():
        with lock:
            app.extensions[key + "_pending"] = False
        if app.extensions["kiosk.db"].closed:
            return  # the app shut down meanwhile: nobody is left to push to
        started = time.perf_counter()
        try:
            send(app)
        except Exception:  # noqa: BLE001
            log.exception("Deferred push %s failed", key)
        finished = time.perf_counter()
        costs[key] = (finished - started, finished)

    # Only sends of the last few seconds count: one slow screen list at start-up must not slow the counts later.
    recent = time.perf_counter() - 2 * MAX_SPACING
    spacing = min(sum(cost for cost, at in list(costs.values()) if at > recent) / BUSY_SHARE, MAX_SPACING)
    timer = threading.Timer(max(delay, spacing), run)
    timer.daemon = True
    timer.start()
