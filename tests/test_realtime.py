"""The /display namespace: state on connect, over the test transport and over a real port."""
from __future__ import annotations

import time

import socketio as socketio_client


def test_display_socket_sends_state_on_connect(app):
    socketio = app.extensions["kiosk.socketio"]
    assert socketio.async_mode == "threading"
    client = socketio.test_client(app, namespace="/display")
    assert client.is_connected("/display")
    received = client.get_received("/display")
    states = [m["args"][0] for m in received if m["name"] == "state"]
    assert len(states) == 1
    state = states[0]
    assert state["rev"] == 0 and state["current_index"] == -1
    assert abs(state["server_time"] - time.time() * 1000) < 5000
    assert len(state["items"]) == 8
    assert state["items"][0]["time_label"] == "07h00–07h30"
    assert state["items"][7]["time_label"] == "09h30"
    assert state["event"]["title"] == "Lễ khai mạc Tuần lễ hưởng ứng học tập suốt đời năm 2023"


def test_agenda_api_returns_the_same_state(app, client):
    socket = app.extensions["kiosk.socketio"].test_client(app, namespace="/display")
    pushed = socket.get_received("/display")[0]["args"][0]
    fetched = client.get("/api/agenda").get_json()
    pushed.pop("server_time"), fetched.pop("server_time")
    assert fetched == pushed


def test_display_namespace_cannot_change_anything(app, client):
    socket = app.extensions["kiosk.socketio"].test_client(app, namespace="/display")
    socket.get_received("/display")
    before = client.get("/api/agenda").get_json()
    for event in ("next", "goto", "state", "announce", "blackout"):
        socket.emit(event, {"index": 5, "expected_index": -1}, namespace="/display")
    after = client.get("/api/agenda").get_json()
    assert after["rev"] == before["rev"] and after["current_index"] == before["current_index"]


def test_live_server_pushes_state_to_a_real_socketio_client(live_server):
    received = []
    with socketio_client.SimpleClient() as sio:
        sio.connect(live_server.url, namespace="/display", transports=["websocket"])
        event, state = sio.receive(timeout=5)
        received.append(event)
        assert event == "state"
        assert state["current_index"] == -1 and len(state["items"]) == 8
    assert received == ["state"]
