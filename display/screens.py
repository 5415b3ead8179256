"""Which screens are connected right now, and what the MC's list of screens shows (plain Python).

Presence lives in memory only: a screen says `hello` on every (re)connect with the random secret key it
keeps in localStorage, and goes away when its socket does. Its id is derived from that key here, so the
ids that every screen sees in the show state cannot be used to speak for another screen: to appear as
the hall's projector, a device would need the projector's key, which never leaves it. The names and
views the MC gives screens are show state (persisted, in Show.screens); this module merges the two for
the MC page.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from dataclasses import dataclass

from kiosk.vietnamese import nfc

from .show import MAX_SCREEN_NAME, VIEWS

# A screen's secret: at least 128 bits from the browser's random generator, written in hex.
SCREEN_KEY = re.compile(r"^[A-Za-z0-9_-]{32,128}$")

VIEW_LABELS = {"projector": "Máy chiếu", "lobby": "Sảnh", "welcome": "Chào đón"}


@dataclass(frozen=True)
class Presence:
    """One connected socket of a screen."""

    sid: str
    screen_id: str
    own_name: str | None
    view: str
    since: dt.datetime
    address: str | None


def screen_id_for(key: str) -> str:
    """The public id of the screen holding `key` (one-way: the id does not give the key away)."""
    return hashlib.sha256(b"kiosk screen id v1:" + key.encode()).hexdigest()[:24]


def parse_hello(data) -> tuple[str, str | None, str] | None:
    """(screen id, the name the screen gives itself, its current view) from a `hello`, or None if bad."""
    if not isinstance(data, dict):
        return None
    # Only these three fields are read (and cleaned); anything else a client puts in is never looked at.
    key, name, view = data.get("key"), data.get("name"), data.get("view")
    if not isinstance(key, str) or not SCREEN_KEY.match(key):
        return None
    screen_id = screen_id_for(key)
    if view not in VIEWS:
        view = "projector"
    own = nfc(name)[:MAX_SCREEN_NAME] if isinstance(name, str) else ""
    return screen_id, own or None, view


class Registry:
    """Thread-safe map of connected socket ids to the screen that said hello on them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_sid: dict[str, Presence] = {}

    def hello(self, sid: str, screen_id: str, own_name: str | None, view: str, now: dt.datetime,
              address: str | None) -> bool:
        """Record (or refresh) a screen on a socket; True when the MC's list changes."""
        with self._lock:
            before = self._by_sid.get(sid)
            since = before.since if before and before.screen_id == screen_id else now
            entry = Presence(sid, screen_id, own_name, view, since, address)
            self._by_sid[sid] = entry
            return before != entry

    def gone(self, sid: str) -> bool:
        """Forget a closed socket; True when it was a screen."""
        with self._lock:
            return self._by_sid.pop(sid, None) is not None

    def connected(self) -> list[Presence]:
        """Every connected screen socket, oldest first."""
        with self._lock:
            return sorted(self._by_sid.values(), key=lambda p: (p.since, p.sid))

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_sid)


def default_name(screen_id: str) -> str:
    """The name of a screen nobody named yet."""
    return f"Màn hình {screen_id[:4].upper()}"


def overview(connected: list[Presence], assigned: dict[str, dict]) -> list[dict]:
    """The MC's list: every connected screen (one row per screen id, however many tabs) and every screen
    the MC configured that is not connected now, each with its name, view and whether it is online."""
    rows: dict[str, dict] = {}
    for presence in connected:
        row = rows.get(presence.screen_id)
        if row is None:
            row = rows[presence.screen_id] = {
                "id": presence.screen_id, "own_name": presence.own_name, "view": presence.view,
                "connected": True, "connections": 0, "since": int(presence.since.timestamp() * 1000),
                "address": presence.address}
        row["connections"] += 1
    for screen_id, setting in assigned.items():
        row = rows.setdefault(screen_id, {"id": screen_id, "own_name": None, "view": None,
                                          "connected": False, "connections": 0, "since": None,
                                          "address": None})
        if setting.get("view"):
            row["assigned_view"] = setting["view"]
        if setting.get("name"):
            row["assigned_name"] = setting["name"]
    listed = []
    for row in rows.values():
        row["name"] = row.get("assigned_name") or row["own_name"] or default_name(row["id"])
        row["view"] = row.get("assigned_view") or row["view"] or "projector"
        row["view_label"] = VIEW_LABELS[row["view"]]
        listed.append(row)
    # Online first, then by name, so the MC's list does not jump around.
    listed.sort(key=lambda r: (not r["connected"], r["name"].casefold(), r["id"]))
    return listed

