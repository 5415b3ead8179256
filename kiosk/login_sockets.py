"""The sockets of one namespace that belong to a login: every push re-checks the login, a logout closes them."""
from __future__ import annotations

import threading

from flask import Flask

from .auth import role_allows, token_role


class LoginSockets:
    """sid -> the login token it connected with, for one namespace and the role its pages need.

    The session a socket copied at connect is never trusted for later pushes: a page logged out, or whose PIN
    was reset (even from the command line), is disconnected instead of being sent names and seats."""

    def __init__(self, app: Flask, namespace: str, role: str):
        self.app, self.namespace, self.role = app, namespace, role
        self._owners: dict[str, str | None] = {}
        self._lock = threading.Lock()
        app.extensions.setdefault("kiosk.on_logout", []).append(self.logged_out)

    def joined(self, sid: str, token: str | None) -> None:
        with self._lock:
            self._owners[sid] = token

    def left(self, sid: str) -> None:
        with self._lock:
            self._owners.pop(sid, None)

    def emit(self, event: str, data) -> None:
        """Send to every socket whose login still holds; drop the others."""
        with self._lock:
            owners = dict(self._owners)
        for sid, token in owners.items():
            if role_allows(token_role(self.app, token), (self.role,)):
                self.app.extensions["kiosk.socketio"].emit(event, data, namespace=self.namespace, to=sid)
            else:
                self._drop(sid)

    def logged_out(self, _app: Flask, token: str) -> None:
        """A login ended: its pages' sockets close at once (auth's logout hook)."""
        with self._lock:
            sids = [sid for sid, owner in self._owners.items() if owner == token]
        for sid in sids:
            self._drop(sid)

    def _drop(self, sid: str) -> None:
        self.left(sid)
        self.app.extensions["kiosk.socketio"].server.disconnect(sid, namespace=self.namespace)
