"""Helpers for the programme tests: fake parts from other features, staff sessions over real HTTP,
and a python-socketio screen that records every state it receives."""
from __future__ import annotations

import threading
import time

import requests
import socketio as socketio_client

from checkin import naming
from display.push import register_state_part

from .conftest import COLLECTOR, PINS

ROSTER = [
    {"honorific": "Đồng chí", "name": "Hoàng Văn Bình", "title": "Phó Bí thư Thường trực Huyện ủy",
     "organisation": "Huyện ủy Bạch Thông", "late": False, "substitute_for": None},
    {"honorific": "Đồng chí", "name": "Lường Thị Hạnh", "title": "Phó Chủ tịch UBND huyện",
     "organisation": "Ủy ban nhân dân huyện Bạch Thông", "late": True, "substitute_for": None,
     "arrived_label": "08h04"},
    {"honorific": "Bà", "name": "Nông Thị Thu", "title": "Phó Chủ tịch Hội Khuyến học huyện",
     "organisation": "Hội Khuyến học huyện Bạch Thông", "late": False, "substitute_for": "Ông Ma Văn Tiến"},
]
for _entry in ROSTER:   # as checkin.checkins.roster_entries sends it
    _entry["addressed"] = naming.addressed(_entry["honorific"], _entry["name"])
# As the donation desk sends it: donors who agreed to be shown, newest first.
DONATIONS = {"fund_name": "Quỹ Khuyến học", "count": 15, "total_vnd": 12_500_000, "total_label": "12.500.000 đ",
             "recent_donors": [{"name": "Ông Lý Văn Tám", "organisation": None},
                               {"name": "Bà Đặng Thị Hoa", "organisation": "Hội Phụ nữ thị trấn"}]}


def remove_parts(app) -> None:
    """Take every other feature's part out of the state, as if the gate and the desk were not built."""
    app.extensions["kiosk.state_parts"] = {}


def install_fake_parts(app, roster=None, donations=None) -> dict:
    """Register the gate's and the desk's state parts with fixed data; return the mutable data
    (roster_count follows the roster unless set)."""
    data = {"roster": list(ROSTER if roster is None else roster),
            "donations": dict(DONATIONS if donations is None else donations), "roster_count": None}

    def roster_count(session, event):
        people = data["roster"]
        return data["roster_count"] or {"present": len(people), "late": sum(1 for p in people if p.get("late")),
                                        "shown": len(people)}
    register_state_part(app, "roster", lambda session, event: data["roster"])
    register_state_part(app, "roster_count", roster_count)
    register_state_part(app, "donations", lambda session, event: data["donations"])
    return data


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.02, message: str = "condition"):
    """Poll until `predicate()` is truthy; return its value or fail the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(interval)


class Staff:
    """A logged-in station over real HTTP (requests), sending the CSRF token like the pages do."""

    def __init__(self, base_url: str, role: str = "mc"):
        self.base_url = base_url
        self.http = requests.Session()
        response = self.http.post(f"{base_url}/api/login", json={"role": role, "pin": PINS[role]}, timeout=5)
        assert response.status_code == 200, response.text
        self.http.headers["X-CSRFToken"] = response.json()["csrf_token"]
        if role in ("cashier", "admin"):
            self.post("/api/desk/collector", {"name": COLLECTOR}).raise_for_status()

    def post(self, path: str, body: dict | None = None) -> requests.Response:
        return self.http.post(self.base_url + path, json=body or {}, timeout=10)

    def act(self, action: str, **body) -> requests.Response:
        return self.post(f"/api/agenda/{action}", body)

    def state(self) -> dict:
        return self.http.get(self.base_url + "/api/agenda", timeout=5).json()


class Screen:
    """A python-socketio client on /display that reconnects by itself and keeps every state it got."""

    def __init__(self, reconnection_delay: float = 0.2):
        self.states: list[dict] = []
        self.greetings: list[dict] = []
        self.connects = 0
        self.disconnects = 0
        self._lock = threading.Lock()
        self.sio = socketio_client.Client(reconnection=True, reconnection_delay=reconnection_delay,
                                          reconnection_delay_max=1, randomization_factor=0.1)
        self.sio.on("state", self._on_state, namespace="/display")
        self.sio.on("greet", lambda data: self.greetings.append(data), namespace="/display")
        self.sio.on("connect", self._on_connect, namespace="/display")
        self.sio.on("disconnect", self._on_disconnect, namespace="/display")

    def _on_state(self, state):
        with self._lock:
            self.states.append(state)

    def _on_connect(self):
        self.connects += 1

    def _on_disconnect(self, *args):
        self.disconnects += 1

    def connect(self, url: str) -> "Screen":
        self.sio.connect(url, namespaces=["/display"], transports=["websocket"], wait_timeout=5)
        return self

    def last(self) -> dict | None:
        with self._lock:
            return self.states[-1] if self.states else None

    def count(self) -> int:
        with self._lock:
            return len(self.states)

    def wait_for(self, predicate, timeout: float = 5.0, message: str = "a matching state") -> dict:
        """Wait until the latest state received satisfies `predicate`; return it."""
        def check():
            state = self.last()
            return state if state is not None and predicate(state) else None
        return wait_until(check, timeout=timeout, message=message)

    def close(self) -> None:
        self.sio.disconnect()
