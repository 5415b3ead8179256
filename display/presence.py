"""Screen presence shared by several processes on one database: the MC sees every process's screens."""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time

from kiosk.storage import screens as presence_queries
from kiosk.storage import process_name, utcnow

from .screens import Presence, Registry

log = logging.getLogger(__name__)

# Each process refreshes its sockets this often; a process silent for STALE_SECONDS died with them.
REFRESH_SECONDS = 2.0
STALE_SECONDS = 30.0


class SharedRegistry(Registry):
    """The local registry, mirrored into the database; `connected()` lists every live process's screens.
    A background thread refreshes this process's rows and, when the list changed elsewhere, calls
    `on_change` (the MC pages of this process get the new list)."""

    def __init__(self, db, on_change=None):
        super().__init__()
        self.db = db
        self.on_change = on_change
        self.process = process_name()
        self._seen: tuple | None = None  # the list as last seen; None before the first look
        self._thread = threading.Thread(target=self._refresh, name="screen-presence", daemon=True)
        self._thread.start()

    def hello(self, sid, screen_id, own_name, view, now, address) -> bool:
        changed = super().hello(sid, screen_id, own_name, view, now, address)
        entry = self._by_sid.get(sid)
        with self.db.write() as session:
            presence_queries.put(session, sid, self.process, screen_id, own_name, view, entry.since, address, now)
        return changed

    def gone(self, sid: str) -> bool:
        was = super().gone(sid)
        if was:
            with self.db.write() as session:
                presence_queries.remove(session, sid)
        return was

    def connected(self) -> list[Presence]:
        fresh_after = utcnow() - dt.timedelta(seconds=STALE_SECONDS)
        with self.db.read() as session:
            rows = presence_queries.live(session, fresh_after)
        listed = [Presence(r.sid, r.screen_id, r.own_name, r.view, r.since, r.address) for r in rows]
        return sorted(listed, key=lambda p: (p.since, p.sid))

    def __len__(self) -> int:
        return len(self.connected())

    def _refresh(self) -> None:
        while not self.db.closed:
            try:
                now = utcnow()
                with self.db.write() as session:
                    presence_queries.touch(session, self.process, now)
                    presence_queries.purge(session, now - dt.timedelta(seconds=STALE_SECONDS * 2))
                seen = tuple((p.sid, p.view, p.own_name) for p in self.connected())
                if seen != self._seen:
                    before, self._seen = self._seen, seen
                    if before is not None and self.on_change is not None:
                        self.on_change()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the refreshing
                if not self.db.closed:
                    log.exception("screen presence refresh")
            time.sleep(REFRESH_SECONDS)
