"""Sockets on the shared Wi-Fi: a logged-out MC page stops receiving, and no device can speak for a screen."""
from __future__ import annotations

import threading
import time

import requests
import socketio as socketio_client

from display.screens import screen_id_for
from kiosk.storage import staff, utcnow

from .conftest import PINS
from .display_helpers import wait_until

KEY_A = "a" * 48
KEY_B = "b" * 48


def _mc_session(url: str) -> tuple[requests.Session, str]:
    http = requests.Session()
    answer = http.post(url + "/api/login", json={"role": "mc", "pin": PINS["mc"]}, timeout=5)
    http.headers["X-CSRFToken"] = answer.json()["csrf_token"]
    return http, answer.cookies["kiosk_session"]


class McPage:
    """What the MC page's socket does: connect to /mc with the login cookie, keep every `screens` push."""

    def __init__(self, url: str, cookie: str):
        self.pushes: list = []
        self.lock = threading.Lock()
        self.sio = socketio_client.Client(reconnection=False)
        self.sio.on("screens", self._screens, namespace="/mc")
        self.sio.connect(url, namespaces=["/mc"], transports=["websocket"], wait_timeout=5,
                         headers={"Cookie": f"kiosk_session={cookie}"})

    def _screens(self, data):
        with self.lock:
            self.pushes.append(data)

    def count(self) -> int:
        with self.lock:
            return len(self.pushes)

    def __enter__(self) -> "McPage":
        return self

    def __exit__(self, *_exc) -> None:
        if self.sio.connected:
            self.sio.disconnect()


def _screen(url: str, key: str, name: str | None = None):
    client = socketio_client.Client(reconnection=False)
    client.connect(url, namespaces=["/display"], transports=["websocket"], wait_timeout=5)
    answer = client.call("hello", {"key": key, "name": name, "view": "projector"}, namespace="/display", timeout=5)
    return client, answer


def test_a_logged_out_mc_page_stops_receiving(live_server):
    http, cookie = _mc_session(live_server.url)
    with McPage(live_server.url, cookie) as page:
        wait_until(lambda: page.count() == 1, message="the screen list on connect")
        screen, _ = _screen(live_server.url, KEY_A)
        wait_until(lambda: page.count() >= 2, message="a push when a screen says hello")
        assert http.post(live_server.url + "/logout", timeout=5).status_code == 200
        wait_until(lambda: not page.sio.connected, message="the logged-out page's socket to close")
        pushes = page.count()
        other, _ = _screen(live_server.url, KEY_B)
        time.sleep(1)
        assert page.count() == pushes
        screen.disconnect()
        other.disconnect()


def test_a_pin_reset_drops_the_mc_page_at_the_next_push(live_server):
    _http, cookie = _mc_session(live_server.url)
    with McPage(live_server.url, cookie) as page:
        wait_until(lambda: page.count() == 1)
        with live_server.app.extensions["kiosk.db"].write() as session:   # what `pins --reset` does
            staff.revoke_role_sessions(session, "mc", utcnow())
        time.sleep(2.2)                                                    # the login check's cache
        pushes = page.count()
        screen, _ = _screen(live_server.url, KEY_A)
        wait_until(lambda: not page.sio.connected, message="the page whose login ended to be dropped")
        assert page.count() == pushes
        screen.disconnect()


def test_no_device_can_appear_online_in_a_screens_place(live_server):
    mc, _cookie = _mc_session(live_server.url)
    hall, answer = _screen(live_server.url, KEY_A, "Máy chiếu hội trường")
    hall_id = answer["id"]
    assert hall_id == screen_id_for(KEY_A) and KEY_A not in hall_id
    assert mc.post(live_server.url + "/api/agenda/screen",
                   json={"screen_id": hall_id, "name": "Máy chiếu hội trường"}, timeout=5).status_code == 200
    # Every screen sees the ids in the state; an id alone is not a way in.
    intruder = socketio_client.Client(reconnection=False)
    intruder.connect(live_server.url, namespaces=["/display"], transports=["websocket"], wait_timeout=5)
    assert hall_id in requests.get(live_server.url + "/api/agenda", timeout=5).json()["screens"]
    assert intruder.call("hello", {"id": hall_id, "view": "lobby"}, namespace="/display", timeout=5) == {"ok": False}
    own = intruder.call("hello", {"key": KEY_B, "name": "Máy chiếu hội trường"}, namespace="/display", timeout=5)
    assert own["ok"] and own["id"] != hall_id
    hall.disconnect()

    def listed():
        return {row["id"]: row for row in mc.get(live_server.url + "/api/screens", timeout=5).json()}
    wait_until(lambda: not listed()[hall_id]["connected"], message="the hall projector to show offline")
    rows = listed()
    assert rows[hall_id]["connected"] is False and rows[hall_id]["name"] == "Máy chiếu hội trường"
    assert rows[own["id"]]["connected"] is True and rows[own["id"]]["name"] == "Máy chiếu hội trường"  # its own say
    assert rows[own["id"]].get("assigned_name") is None                    # but not the MC's settings
    intruder.disconnect()


def test_malformed_socket_packets_are_dropped_quietly(live_server, caplog):
    """Anyone on the Wi-Fi can open /display and send anything: no traceback in the log, the screen goes on."""
    import json
    import logging

    import websocket
    deep = {"key": "c" * 40, "view": "lobby"}
    name = {}
    deep["name"] = name
    for _ in range(500):
        name["a"] = {}
        name = name["a"]
    with caplog.at_level(logging.INFO):
        sock = websocket.create_connection(f"ws://127.0.0.1:{live_server.port}/socket.io/?EIO=4&transport=websocket",
                                           timeout=5)
        try:
            assert sock.recv().startswith("0{")
            sock.send("40/display,")
            while not sock.recv().startswith("42/display,[\"state\""):
                pass
            for garbage in ("42/display," + "[" * 20000 + "]" * 20000, "9", "4", "4x", "42/display,{oops",
                            "44/display,", "45-/display,", "42/display,[\"hello\"," + json.dumps(deep) + "]",
                            "42/display,123[\"hello\"]", "3" + "1" * 200):
                sock.send(garbage)
            sock.send('42/display,7["hello",{"key":"' + "d" * 40 + '","view":"lobby"}]')
            answer = ""
            while not answer.startswith("43/display,7"):
                answer = sock.recv()
            assert json.loads(answer[len("43/display,7"):])[0]["ok"] is True     # still served
        finally:
            sock.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
