"""What the gate pushes to screens: live counts, greetings for arriving delegates, the MC's roster."""
from __future__ import annotations

import logging
import queue
import threading
import time
from zoneinfo import ZoneInfo

from flask import Flask

from display import push
from kiosk.storage import checkins as queries

from . import checkins, naming
from .checkins import EventContext

# While people stream in, counts refresh twice a second and the MC's roster (the whole show state) once:
# recomputing them for every scan would cost more than the scans.
STATS_DELAY = 0.5
ROSTER_DELAY = 1.0
# A projector shows a few dozen names and the MC reads about a hundred. Past this many, the roster pushed
# to screens is cut in protocol order (the count stays exact and GET /api/roster has everyone), so a crowd
# of arrivals cannot make every push, and with it the gate, slower.
ROSTER_ON_SCREENS = 300
# A greeting still unsent this long after its scan (Redis between the processes stalled) is dropped: the
# guest is in their seat by then, and a burst of stale welcomes would hide the next real one.
GREETING_FRESH_SECONDS = 10.0
log = logging.getLogger(__name__)


def setup(app: Flask) -> None:
    """Put the roster of dignitaries present, and its exact count, into every show state screens receive."""

    def roster_part(session, event):
        ctx = EventContext(event.id, ZoneInfo(event.timezone), event.starts_at, event.vip_max_rank or 0)
        return checkins.roster_entries(queries.present_delegates(session, event.id, ROSTER_ON_SCREENS), ctx)

    def roster_count_part(session, event):
        present, late = queries.present_delegate_counts(session, event.id, event.starts_at)
        return {"present": present, "late": late, "shown": min(present, ROSTER_ON_SCREENS)}

    push.register_state_part(app, "roster", roster_part)
    push.register_state_part(app, "roster_count", roster_count_part)


def push_stats(app: Flask) -> None:
    """Send the live counts to every screen and staff page now."""
    app.extensions["kiosk.socketio"].emit("stats", checkins.stats(app.extensions["kiosk.db"]),
                                          namespace=push.NAMESPACE)


def after_checkin(app: Flask, result: dict) -> None:
    """After a scan, search admission or walk-in: greet, refresh counts, roster and the gates' copies soon,
    and tell every gate of a conflict at once."""
    from .gate_events import push_conflict   # (the gates' copies follow every POST: gate_events.register)
    push.coalesced(app, "checkin.stats", push_stats, STATS_DELAY)
    if result.get("conflict") and not result.get("replayed"):
        push_conflict(app, result["conflict"])
    guest = result.get("delegate")
    if result.get("result") != "ok" or guest is None or result.get("walk_in"):
        return
    if not result.get("replayed") and not result.get("source"):
        # A late sync or a paper entry greets nobody: the person came in a while ago.
        # Only name, honorific, title, organisation and seat reach a screen: never a phone number.
        title, organisation = naming.detail_parts(guest["full_name"], guest.get("title"), guest.get("organisation"))
        _greetings(app).put((time.monotonic(), {
            "greeting": naming.greeting(guest.get("honorific"), guest["full_name"]), "title": title,
            "organisation": organisation, "seat": guest.get("seat"), "vip": guest.get("vip"),
        }))
    push.coalesced(app, "checkin.roster", push.broadcast_state, ROSTER_DELAY)


def _greetings(app: Flask) -> queue.SimpleQueue:
    """The app's greetings to send, (time of the scan, greeting), in order, by one thread of their own: with
    Redis between processes an emit is a round trip, which the gate's answer need not wait for."""
    outbox = app.extensions.get("checkin.greetings")
    if outbox is not None:
        return outbox
    with app.extensions.setdefault("checkin.greetings_lock", threading.Lock()):
        if "checkin.greetings" not in app.extensions:
            app.extensions["checkin.greetings"] = queue.SimpleQueue()
            threading.Thread(target=_send_greetings, args=(app, app.extensions["checkin.greetings"]),
                             name="greetings", daemon=True).start()
    return app.extensions["checkin.greetings"]


def _send_greetings(app: Flask, outbox: queue.SimpleQueue) -> None:
    db, socketio = app.extensions["kiosk.db"], app.extensions["kiosk.socketio"]
    while True:
        try:
            scanned, greeting = outbox.get(timeout=1.0)
        except queue.Empty:
            if db.closed:
                return   # the app shut down: nobody is left to greet
            continue
        if time.monotonic() - scanned > GREETING_FRESH_SECONDS:
            continue
        try:
            socketio.emit("greet", greeting, namespace=push.NAMESPACE)
        except Exception:  # noqa: BLE001 - a lost greeting must not stop the ones after it
            log.exception("Greeting not sent")


def after_undo(app: Flask) -> None:
    """After an undo: counts and roster change."""
    push.coalesced(app, "checkin.stats", push_stats, STATS_DELAY)
    push.coalesced(app, "checkin.roster", push.broadcast_state, ROSTER_DELAY)
