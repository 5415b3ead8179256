"""The real server on a port: a Socket.IO client sees counts and greetings pushed after scans."""
from __future__ import annotations

import time

import requests
import socketio as socketio_client

from .conftest import COLLECTOR, PINS
from .gate_helpers import first_non_vip, invitations


def _login(url: str, role: str) -> requests.Session:
    http = requests.Session()
    token = http.post(url + "/api/login", json={"role": role, "pin": PINS[role]}, timeout=5).json()["csrf_token"]
    http.headers["X-CSRFToken"] = token
    if role in ("cashier", "admin"):
        http.post(url + "/api/desk/collector", json={"name": COLLECTOR}, timeout=5).raise_for_status()
    return http


def _wait_for(events: list, name: str, predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event, data in list(events):
            if event == name and predicate(data):
                return data
        time.sleep(0.05)
    raise AssertionError(f"no {name} event matching within {timeout}s: {[e for e, _ in events]}")


def test_a_screen_sees_counts_change_and_a_greeting_after_a_scan(live_server):
    events: list = []
    sio = socketio_client.Client(reconnection=False)
    sio.on("stats", lambda data: events.append(("stats", data)), namespace="/display")
    sio.on("greet", lambda data: events.append(("greet", data)), namespace="/display")
    sio.on("state", lambda data: events.append(("state", data)), namespace="/display")
    sio.connect(live_server.url, namespaces=["/display"], transports=["websocket"])
    try:
        gate = _login(live_server.url, "gate")
        before = gate.get(live_server.url + "/api/stats", timeout=5).json()["present"]
        _id, code, name = invitations(live_server.app, 1)[0]
        assert gate.post(live_server.url + "/api/checkin", json={"code": code}, timeout=5).json()["result"] == "ok"
        stats = _wait_for(events, "stats", lambda s: s["present"] == before + 1)
        assert stats["vip_present"] == 1
        # The default event's first invitation is an office's: greeted by its office, never "đồng chí Đại diện".
        assert name == "Đại diện Thường trực Huyện ủy"
        greet = _wait_for(events, "greet", lambda g: "Thường trực Huyện ủy" in g["greeting"])
        assert greet["greeting"] == "Kính chào đại biểu Thường trực Huyện ủy"
        assert greet["title"] is None and greet["organisation"] == "Huyện ủy Bạch Thông"
        assert not any("phone" in key for key in greet)
        # A named person is greeted with their honorific.
        from checkin import invitations as cases
        from checkin.people import PersonFields
        db = live_server.app.extensions["kiosk.db"]
        person_id = cases.add_person(db, PersonFields(full_name="Lường Thị Mai", honorific="Bà",
                                                      title="Hiệu trưởng", organisation="Trường THCS Phủ Thông"), "t")
        with db.read() as session:
            from kiosk.storage import invitees as invitee_queries
            mai_code = invitee_queries.active_code(session, person_id)
        assert gate.post(live_server.url + "/api/checkin", json={"code": mai_code}, timeout=5).json()["result"] == "ok"
        mai = _wait_for(events, "greet", lambda g: "Lường Thị Mai" in g["greeting"])
        assert mai["greeting"] == "Kính chào bà Lường Thị Mai" and mai["title"] == "Hiệu trưởng"
        state = _wait_for(events, "state", lambda s: any(r["name"] == name for r in s.get("roster", [])))
        assert state["roster"][0]["late"] in (True, False)
        # A phone number never reaches a screen, whatever was pushed.
        _nid, other, _ = first_non_vip(live_server.app)
        gate.post(live_server.url + "/api/walkins", json={"full_name": "Khách Có Số", "group": "khach-khac",
                                                          "phone": "0912999888"}, timeout=5)
        _wait_for(events, "stats", lambda s: s["walk_ins"] == 1)
        assert "0912999888" not in repr(events)
    finally:
        sio.disconnect()


def test_a_greeting_that_cannot_be_sent_yet_does_not_hold_up_the_gate_and_goes_out_after(live_server, monkeypatch):
    import threading
    socketio = live_server.app.extensions["kiosk.socketio"]
    stalled, sent = threading.Event(), []
    real_emit = socketio.emit

    def slow_emit(event, data=None, *args, **kwargs):
        if event == "greet":   # Redis between the processes stalls: this emit waits
            stalled.wait(10)
            sent.append(data["greeting"])
        return real_emit(event, data, *args, **kwargs)
    monkeypatch.setattr(socketio, "emit", slow_emit)
    gate = _login(live_server.url, "gate")
    first, second = invitations(live_server.app, 2)
    answers = [gate.post(live_server.url + "/api/checkin", json={"code": code}, timeout=5).json()
               for _, code, _ in (first, second)]
    # Both answered while the first greeting still waits: the gate never waits for a screen's push.
    assert [a["result"] for a in answers] == ["ok", "ok"] and sent == []
    stalled.set()
    deadline = time.monotonic() + 5
    while len(sent) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Thường trực Huyện ủy" in sent[0] and len(sent) == 2   # in the order people came in


def test_a_greeting_held_up_past_its_moment_is_dropped_not_shown_late(live_server, monkeypatch):
    import threading

    from checkin import live
    monkeypatch.setattr(live, "GREETING_FRESH_SECONDS", 0.5)
    socketio = live_server.app.extensions["kiosk.socketio"]
    stalled, sent = threading.Event(), []
    real_emit = socketio.emit

    def slow_emit(event, data=None, *args, **kwargs):
        if event == "greet":
            stalled.wait(10)   # the first greeting's send hangs for a second
            sent.append(data["greeting"])
        return real_emit(event, data, *args, **kwargs)
    monkeypatch.setattr(socketio, "emit", slow_emit)
    gate = _login(live_server.url, "gate")
    first, second = invitations(live_server.app, 2)
    for _, code, _ in (first, second):
        assert gate.post(live_server.url + "/api/checkin", json={"code": code}, timeout=5).json()["result"] == "ok"
    time.sleep(1.0)
    stalled.set()
    time.sleep(0.5)
    # The first was on its way; the second waited past its moment and is not shown a second late.
    assert len(sent) == 1 and "Thường trực Huyện ủy" in sent[0]
