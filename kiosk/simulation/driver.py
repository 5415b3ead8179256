"""Plays a plan through the real HTTP and Socket.IO API of a running kiosk, retrying until acknowledged."""
from __future__ import annotations

import html
import logging
import re
import secrets
import threading
import time
from collections import Counter
from urllib.parse import quote

import requests
import socketio

from .plan import Action, Invitee

RETRY_FOR = 180.0        # real seconds an unacknowledged request keeps being retried before the run gives up
REQUEST_TIMEOUT = 10.0
COLLECTOR = "Hoàng Thị Lan"
# A screen cut off by a server restart is expected here: its client's complaints are not the run's errors.
_QUIET = logging.getLogger("kiosk.simulation.screens")
_QUIET.setLevel(logging.CRITICAL)
_ROW = re.compile(r'<a href="/admin/invitees/(\d+)"><b>(.*?)</b></a>(.*?)<td class="code">(.*?)</td>', re.S)


class SimulationError(RuntimeError):
    """The kiosk never acknowledged a request, or answered in a way the simulation cannot go on from."""


class Station:
    """One logged-in device: a requests.Session that retries every unacknowledged call with the same body."""

    def __init__(self, base_url: str, role: str, pin: str, stop: threading.Event, *, verify: bool | str = True):
        self.base, self.role, self.pin, self.stop = base_url.rstrip("/"), role, pin, stop
        self.http = requests.Session()
        # Over HTTPS, the kiosk's own CA file; given with every request, since a session's own `verify`
        # loses to REQUESTS_CA_BUNDLE in the environment (requests issue 3829).
        self.verify = verify
        self.retries = 0
        self.login()

    def login(self) -> None:
        answer = self.call("POST", "/api/login", {"role": self.role, "pin": self.pin}, relogin=False)
        if answer.status_code != 200:
            raise SimulationError(f"đăng nhập {self.role} bị từ chối: {answer.status_code} {answer.text[:200]}")
        self.http.headers["X-CSRFToken"] = answer.json()["csrf_token"]
        if self.role in ("cashier", "admin"):
            self.call("POST", "/api/desk/collector", {"name": COLLECTOR}, relogin=False)

    def call(self, method: str, path: str, body=None, *, relogin: bool = True, **kwargs) -> requests.Response:
        """Send until the server acknowledges: connection errors, timeouts and 5xx are sent again unchanged
        (the body carries its idempotency key, so a request the server did take is answered, not redone)."""
        deadline = time.monotonic() + RETRY_FOR
        pause = 0.05
        while True:
            try:
                answer = self.http.request(method, self.base + path, json=body, timeout=REQUEST_TIMEOUT,
                                           allow_redirects=False, verify=self.verify, **kwargs)
                if answer.status_code < 500:
                    if relogin and answer.status_code in (400, 401) and _error(answer) in ("login_required", "csrf"):
                        self.login()   # a lost session (a restored database): log in again, then resend
                        continue
                    return answer
            except requests.RequestException:
                pass
            self.retries += 1
            if time.monotonic() > deadline:
                raise SimulationError(f"{method} {path}: máy chủ không trả lời sau {RETRY_FOR:.0f} giây")
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def timed(self, method: str, path: str, body=None) -> tuple[requests.Response, float]:
        """A call and the latency of the attempt the server acknowledged (a restart's wait is not latency)."""
        started = time.perf_counter()
        before = self.retries
        answer = self.call(method, path, body)
        elapsed = answer.elapsed.total_seconds() if self.retries != before else time.perf_counter() - started
        return answer, elapsed


def _error(answer: requests.Response) -> str | None:
    try:
        body = answer.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def invitation_list(admin: Station) -> list[Invitee]:
    """Every invitation with its code, read from the admin's list of invitees (the page the organiser prints from)."""
    page = admin.call("GET", "/admin/invitees")
    if page.status_code != 200:
        raise SimulationError(f"không đọc được danh sách khách mời: {page.status_code}")
    people = []
    for invitee_id, name, middle, code in _ROW.findall(page.text):
        code = html.unescape(code).strip()
        if code.startswith("TM"):
            people.append(Invitee(int(invitee_id), code, html.unescape(name), 'class="tag vip"' in middle))
    return people


def walk_in_group(gate: Station) -> str | None:
    """The first group the gate page offers for walk-ins."""
    page = gate.call("GET", "/gate")
    found = re.search(r'<input type="radio" name="group" value="([^"]+)"', page.text)
    return html.unescape(found.group(1)) if found else None


def import_invitees(admin: Station, filename: str, data: bytes, timeout: float = 120.0) -> None:
    """Upload a list through the admin's import form and wait until it is written (a re-upload after a lost
    answer only updates the same people: the importer matches them and never duplicates)."""
    answer = admin.call("POST", "/admin/invitees/import", files={"file": (filename, data, "text/csv")})
    deadline = time.monotonic() + timeout
    path = "/admin/invitees/import"
    while True:
        target = answer.headers.get("Location", "")
        if answer.status_code in (302, 303):
            path = "/" + target.split("://", 1)[1].split("/", 1)[1] if "://" in target else target
            if path.rstrip("/").endswith("/admin/invitees"):
                return
        elif answer.status_code == 400:
            raise SimulationError("tệp khách mời tạo ra bị từ chối: " + re.sub(r"<[^>]+>", " ", answer.text)[:300])
        else:
            time.sleep(0.3)   # still reading or writing: the page refreshes itself, so do we
        if time.monotonic() > deadline:
            raise SimulationError("nhập danh sách khách mời quá lâu")
        answer = admin.call("GET", path)


def agenda(base_url: str, verify: bool | str = True) -> dict:
    """The show state (no login)."""
    return requests.get(base_url.rstrip("/") + "/api/agenda", timeout=REQUEST_TIMEOUT, verify=verify).json()


class Screens:
    """`count` python-socketio clients on /display, as projector and lobby screens, counting what they receive."""

    def __init__(self, base_url: str, count: int, verify: bool | str = True):
        self.base, self.count, self.verify = base_url, count, verify
        self.received: Counter = Counter()
        self.reconnects = 0
        self._lock = threading.Lock()
        self.clients: list[socketio.Client] = []

    def _one(self, number: int) -> None:
        # engine.io takes a CA file only from a session's `verify` (its ssl_verify is on or off).
        http = requests.Session()
        http.verify = self.verify
        client = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1.0,
                                 logger=_QUIET, engineio_logger=_QUIET, http_session=http)
        key = secrets.token_hex(16)
        view = "projector" if number % 2 == 0 else "lobby"
        connected = {"n": 0}

        def on_connect():
            connected["n"] += 1
            if connected["n"] > 1:
                with self._lock:
                    self.reconnects += 1
            client.emit("hello", {"key": key, "view": view, "name": f"Màn hình mô phỏng {number + 1}"},
                        namespace="/display")

        client.on("connect", on_connect, namespace="/display")
        for event in ("state", "stats", "greet"):
            client.on(event, self._counter(event), namespace="/display")
        client.connect(self.base, namespaces=["/display"], transports=["websocket"], wait_timeout=10)
        self.clients.append(client)

    def _counter(self, event: str):
        def count(*_args):
            with self._lock:
                self.received[event] += 1
        return count

    def start(self) -> None:
        threads = [threading.Thread(target=self._one, args=(n,), daemon=True) for n in range(self.count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    def stop(self) -> None:
        for client in self.clients:
            try:
                client.disconnect()
            except Exception:  # noqa: BLE001 - a screen already gone is what we wanted
                pass


class Clock:
    """Virtual time: the plan's start at the first tick, `speed` virtual seconds per real second."""

    def __init__(self, start: float, speed: float):
        self.start, self.speed = start, speed
        self.t0 = time.monotonic()

    def now(self) -> float:
        return self.start + (time.monotonic() - self.t0) * self.speed

    def wait_until(self, at: float, stop: threading.Event) -> None:
        delay = (at - self.now()) / self.speed
        if delay > 0:
            stop.wait(delay)


def play(station: Station, actions: list[Action], clock: Clock, stop: threading.Event, handle) -> None:
    """Run one station's actions at their virtual times (at once when behind, as a queue at the gate is)."""
    for action in actions:
        clock.wait_until(action.at, stop)
        if stop.is_set():
            return
        handle(station, action)


def quote_query(text: str) -> str:
    return quote(text, safe="")
